from django.urls import path

from . import views

app_name = "observability"
urlpatterns = [
    path("requests/", views.request_stats_view, name="requests"),
    path("timeline/", views.timeline_view, name="timeline"),
    path("timeline/<uuid:chain>/", views.chain_view, name="chain"),
]
