from django.urls import path
from rest_framework.routers import SimpleRouter

from traces import api

router = SimpleRouter(trailing_slash=False)
router.register("redaction-rules", api.RedactionRuleViewSet, basename="redaction-rule")

urlpatterns = [
    path("traces/ingest", api.TraceIngestView.as_view(), name="traces-ingest"),
    path("feedback", api.FeedbackView.as_view(), name="feedback"),
    path("otlp/v1/traces", api.OtlpTraceView.as_view(), name="otlp-traces"),
    *router.urls,
]
