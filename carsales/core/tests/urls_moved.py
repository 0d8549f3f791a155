"""A URLconf where the catalogue's list lives elsewhere: a URL cache must follow the URLconf."""

from django.http import HttpResponse
from django.urls import include, path

app_name = "catalog"
urlpatterns = [path("moved/", lambda request: HttpResponse(), name="car_list")]
urlpatterns = [path("", include((urlpatterns, "catalog")))]
