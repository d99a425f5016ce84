from django.urls import path
from rest_framework.routers import SimpleRouter

from traces import api
from traces.explorer import api as explorer_api
from traces.exports import api as exports_api

router = SimpleRouter(trailing_slash=False)
router.register("redaction-rules", api.RedactionRuleViewSet, basename="redaction-rule")
router.register("exports", exports_api.ExportJobViewSet, basename="export")

urlpatterns = [
    path("traces/ingest", api.TraceIngestView.as_view(), name="traces-ingest"),
    path("feedback", api.FeedbackView.as_view(), name="feedback"),
    path("otlp/v1/traces", api.OtlpTraceView.as_view(), name="otlp-traces"),
    path("events/replicas", api.ReplicaEventsView.as_view(), name="events-replicas"),
    path("events/deployments", api.DeploymentEventsView.as_view(), name="events-deployments"),
    path("events/fine-tuning-jobs", api.FineTuneJobEventsView.as_view(), name="events-fine-tuning-jobs"),
    path("events/credit-charges", api.CreditChargeEventsView.as_view(), name="events-credit-charges"),
    path("traces", explorer_api.TraceListView.as_view(), name="traces-list"),
    path("traces/<path:request_id>", explorer_api.TraceDetailView.as_view(), name="traces-detail"),
    path("explorer/summary", explorer_api.ExplorerSummaryView.as_view(), name="explorer-summary"),
    *router.urls,
]
