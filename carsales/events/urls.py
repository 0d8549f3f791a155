from django.urls import path

from . import views

app_name = "events"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("requeue/", views.requeue, name="requeue"),
]
