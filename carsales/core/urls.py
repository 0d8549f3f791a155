from django.urls import path

from . import views

app_name = "core"

urlpatterns = [path("", views.signals_overview, name="signals")]
