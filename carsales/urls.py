from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from carsales.catalog.api import BrandViewSet, CarViewSet

router = DefaultRouter()
router.register("cars", CarViewSet, basename="car")
router.register("brands", BrandViewSet, basename="brand")

urlpatterns = [
    path("", include("carsales.catalog.urls")),
    path("accounts/", include("carsales.accounts.urls")),
    path("", include("carsales.orders.urls")),
    path("staff/inventory/", include("carsales.inventory.urls")),
    path("staff/sales/", include("carsales.analytics.urls")),
    path("admin/", admin.site.urls),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

if settings.SERVE_MEDIA:
    urlpatterns += [
        re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    ]
