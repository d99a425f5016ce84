"""Metrics endpoints (D9): thin — parse the selection, call the metrics layer, render."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.scoping import AccountScopedAPIView
from analytics.models import RollupState
from analytics.params import PRESETS, selection_from_query
from analytics.selectors import FILTERS, metrics_breakdown, metrics_summary, metrics_timeseries
from analytics.selectors.metrics import BREAKDOWN_DIMENSIONS
from config.replica_reads import data_as_of, replica_reads

COMMON = [
    OpenApiParameter("start", str, description="RFC 3339 timestamp or local date (default: 7 days before end)"),
    OpenApiParameter("end", str, description="RFC 3339 timestamp or local date, inclusive (default: now)"),
    *[OpenApiParameter(name, str) for name in FILTERS],
    OpenApiParameter("prompt_id", str, description="alias of prompt"),
    OpenApiParameter("preset", str, enum=list(PRESETS), description="D1 preset in the account's timezone"),
]


class MetricsBase(AccountScopedAPIView):
    def envelope(self, sel, **body):
        state = RollupState.objects.for_account(self.account).first()
        return {
            "period": {"start": sel.start.isoformat(), "end": sel.end.isoformat(), "preset": sel.preset},
            "filters": sel.filters,
            # The replica that answered (if any) may be behind: "as of" is no later than it.
            "as_of": data_as_of(state.as_of if state else None).isoformat(),
            **body,
        }


class MetricsView(MetricsBase):
    """The summary of API.md: requests, rates, latency percentiles, tokens, cost, credits, users."""

    @extend_schema(operation_id="metrics_summary", parameters=COMMON, responses={200: dict})
    @replica_reads()
    def get(self, request):
        sel = selection_from_query(self.account, request.query_params)
        return Response(self.envelope(sel, metrics=metrics_summary(sel, peak=True)))


class TimeseriesView(MetricsBase):
    """Points per local hour (single day) or local day (longer); periods without requests are absent."""

    @extend_schema(operation_id="metrics_timeseries", responses={200: dict}, parameters=[
        *COMMON, OpenApiParameter("granularity", str, enum=["hour", "day"])])
    @replica_reads()
    def get(self, request):
        sel = selection_from_query(self.account, request.query_params)
        granularity = request.query_params.get("granularity")
        if granularity not in (None, "hour", "day"):
            raise ValidationError({"granularity": ["must be hour or day"]})
        return Response(self.envelope(sel, **metrics_timeseries(sel, granularity, peak=True)))


class BreakdownView(MetricsBase):
    """The metrics per value of one dimension, busiest first."""

    @extend_schema(operation_id="metrics_breakdown", responses={200: dict}, parameters=[
        *COMMON, OpenApiParameter("by", str, required=True, enum=list(BREAKDOWN_DIMENSIONS))])
    @replica_reads()
    def get(self, request):
        by = request.query_params.get("by")
        if by not in BREAKDOWN_DIMENSIONS:
            raise ValidationError({"by": [f"must be one of {', '.join(BREAKDOWN_DIMENSIONS)}"]})
        sel = selection_from_query(self.account, request.query_params)
        return Response(self.envelope(sel, by=by, rows=metrics_breakdown(sel, by, peak=True)))
