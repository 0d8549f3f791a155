from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("cart/", views.cart_view, name="cart"),
    path("cart/add/<id:car_id>/", views.cart_add, name="cart_add"),
    path("cart/remove/<id:car_id>/", views.cart_remove, name="cart_remove"),
    path("cart/remove-unavailable/", views.cart_remove_unavailable, name="cart_remove_unavailable"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/<id:pk>/", views.order_detail, name="order_detail"),
    path("orders/<id:pk>/pay/", views.order_pay, name="order_pay"),
    path("orders/<id:pk>/cancel/", views.order_cancel_view, name="order_cancel"),
    path("orders/<id:pk>/refund/", views.order_refund, name="order_refund"),
]
