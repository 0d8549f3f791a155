from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.utils.functional import lazy
from django.views.generic import RedirectView
from django.views.static import serve
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from carsales.accounts.api import TokenObtainView
from carsales.accounts.views import lockouts
from carsales.catalog.api import BrandViewSet, CarViewSet
from carsales.core.openapi import OneVersionSchemaView
from carsales.core.views import view_on_site
from carsales.inventory.api import CarInventoryViewSet
from carsales.orders.api import CartItemViewSet, CartView, CheckoutView, OrderViewSet
from carsales.sales.api import SaleViewSet

# Path converters, not regexes, so every detail route takes `<id:...>` (carsales.core.converters):
# an id the database cannot hold is a 404, never a query that fails. No ".json" suffix routes:
# each was a second copy of every operation in the schema (?format=json does the same).
router = DefaultRouter(use_regex_path=False)
router.include_format_suffixes = False
router.register("cars", CarViewSet, basename="car")
router.register("brands", BrandViewSet, basename="brand")
router.register("cart/items", CartItemViewSet, basename="cart-item")
router.register("orders", OrderViewSet, basename="order")
router.register("sales", SaleViewSet, basename="sale")
router.register("inventory", CarInventoryViewSet, basename="inventory")

api_urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/token/", TokenObtainView.as_view(), name="api-token"),
    path("cart/", CartView.as_view(), name="api-cart"),
    path("checkout/", CheckoutView.as_view(), name="api-checkout"),
    path("", include(router.urls)),
    # JSON first: a browser opening the address is shown the schema (YAML it would download);
    # YAML for who asks for it (Accept, or ?format=yaml).
    path(
        "schema/",
        OneVersionSchemaView.as_view(
            renderer_classes=[OpenApiJsonRenderer2, OpenApiJsonRenderer, OpenApiYamlRenderer, OpenApiYamlRenderer2]
        ),
        name="schema",
    ),
    # The split view loads Swagger UI's setup as a script file, which the CSP allows; an inline one it would not.
    # A page to read: DRF's OPTIONS answer would render its template without the page's data (a 500).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="api/swagger_ui.html", http_method_names=["get", "head"]
        ),
        name="api-docs",
    ),
]

urlpatterns = [
    # First: the site's pages are included at "", so an API address tried after them is matched
    # against every page's pattern first (resolving /api/cars/ took 2.5x as long); "api/" costs a page one prefix test.
    path("api/", include(api_urlpatterns)),
    path("", include("carsales.catalog.urls")),
    path("accounts/", include("carsales.accounts.urls")),
    path("", include("carsales.orders.urls")),
    path("", include("carsales.sales.urls")),
    path("staff/inventory/", include("carsales.inventory.urls")),
    path("staff/sales/", include("carsales.analytics.urls")),
    path("staff/activity/", include("carsales.audit.urls")),
    path("staff/signals/", include("carsales.core.urls")),
    path("staff/events/", include("carsales.events.urls")),
    path("staff/", include("carsales.observability.urls")),
    path("staff/lockouts/", lockouts, name="staff_lockouts"),
    # Before the admin's own "view on site" route, which it replaces (carsales.core.views.view_on_site).
    path("admin/r/<int:content_type_id>/<path:object_id>/", admin.site.admin_view(view_on_site)),
    path("admin/", admin.site.urls),
    # Browsers and crawlers ask for /favicon.ico whatever a page links; point them at the static icon.
    # Lazy, because the hashed static name is only known once the manifest is loaded.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"))),
]

if settings.SERVE_MEDIA:
    urlpatterns += [
        re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    ]

# Under /api/ the error pages are JSON, like every other answer there; elsewhere Django's pages.
handler400 = "carsales.core.views.bad_request"
handler403 = "carsales.core.views.permission_denied"
handler404 = "carsales.core.views.page_not_found"
handler500 = "carsales.core.views.server_error"
