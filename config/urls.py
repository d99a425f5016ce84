from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from config import health, metrics

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("models_registry.urls")),
    path("", include("traces.urls")),
    path("", include("analytics.urls")),
    path("", include("alerts.urls")),
    path("", include("dashboards.urls")),
    path("", include("budgets.urls")),
    path("", include("outbox.urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/v1/", include(api_v1)),
    # The Langfuse SDK's OTLP path (LANGFUSE_BASE_URL=<base>): docs/integrations.md.
    path("api/public/", include("traces.otlp.urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: the CSP allows no inline script.
    path("api/docs", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # ReDoc's bundle shows its maker's logo from its CDN: the one outside image any page may load.
    path("api/redoc", csp_update({"img-src": "https://cdn.redoc.ly"})(SpectacularRedocView.as_view(url_name="schema")),
         name="api-redoc"),
    path("admin/", admin.site.urls),
    path("", include("accounts.console_urls")),
]

handler400 = "config.error_views.bad_request"
handler403 = "config.error_views.permission_denied"
handler404 = "config.error_views.page_not_found"
handler500 = "config.error_views.server_error"
