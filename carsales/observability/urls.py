from django.urls import path

from . import views

app_name = "observability"
urlpatterns = [path("", views.request_stats_view, name="requests")]
