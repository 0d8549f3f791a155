from django.urls import path

from . import views

app_name = "sales"

urlpatterns = [
    path("sales/<id:pk>/void/", views.sale_void_view, name="sale_void"),
]
