from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.car_list_view, name="car_list"),
    path("cars/new/", views.car_create_view, name="car_create"),
    path("cars/export.csv", views.car_export_view, name="car_export"),
    path("cars/<id:pk>/", views.car_detail, name="car_detail"),
    path("cars/<id:pk>/edit/", views.car_edit_view, name="car_edit"),
    path("cars/<id:pk>/delete/", views.car_delete_view, name="car_delete"),
    path("cars/<id:pk>/withdraw/", views.car_withdraw_view, name="car_withdraw"),
    path("cars/<id:pk>/relist/", views.car_relist_view, name="car_relist"),
    path("cars/<id:pk>/photos/", views.car_photos_view, name="car_photos"),
    path(
        "cars/<id:pk>/photos/<id:photo_id>/<str:change>/",
        views.car_photo_change_view,
        name="car_photo_change",
    ),
    path("brands/", views.brand_list_view, name="brand_list"),
    path("brands/<id:pk>/delete/", views.brand_delete_view, name="brand_delete"),
]
