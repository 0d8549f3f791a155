from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [path("", views.sales_dashboard, name="sales_dashboard")]
