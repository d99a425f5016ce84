"""Endpoints of the analytics screens (docs/api-analytics.md): parse, call analytics.screens, render."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from alerts.selectors import EVENTS_LIMIT, alert_events_for_selection
from analytics.api import COMMON, MetricsBase
from analytics.params import selection_from_query
from analytics.screens.cohorts import BY as COHORT_BY, cohorts
from analytics.screens.compare import DIMENSIONS as COMPARE_DIMENSIONS, compare
from analytics.screens.models_tab import TABS, model_analytics
from analytics.screens.performance import COLUMNS as PERFORMANCE_COLUMNS, performance_detail, performance_table
from analytics.screens.production import overview, production
from analytics.screens.usage import usage
from config.replica_reads import replica_reads


class ScreenView(MetricsBase):
    def selection(self):
        return selection_from_query(self.account, self.request.query_params)


class OverviewView(ScreenView):
    """KPI cards with the change against the previous period of the same length."""

    @extend_schema(operation_id="analytics_overview", parameters=COMMON, responses={200: dict})
    @replica_reads()
    def get(self, request):
        sel = self.selection()
        return Response(self.envelope(sel, **overview(sel)))


class PerformanceView(ScreenView):
    """The model × feature table of seed 000, sortable by any column."""

    @extend_schema(operation_id="analytics_performance", responses={200: dict}, parameters=[
        *COMMON, OpenApiParameter("ordering", str, description=f"one of {', '.join(PERFORMANCE_COLUMNS)}; "
                                                               "prefix - for descending (default -requests)")])
    @replica_reads()
    def get(self, request):
        sel = self.selection()
        ordering = request.query_params.get("ordering") or "-requests"
        return Response(self.envelope(sel, ordering=ordering, rows=performance_table(sel, ordering)))


class PerformanceDetailView(ScreenView):
    """One row's request trend, token consumption and latency analysis."""

    @extend_schema(operation_id="analytics_performance_detail", parameters=COMMON, responses={200: dict})
    @replica_reads()
    def get(self, request):
        sel = self.selection()
        return Response(self.envelope(sel, **performance_detail(sel)))


class ModelAnalyticsView(ScreenView):
    """Seeds 001/002: account-level cards, filter options, latency, requests, scaling or tokens."""

    @extend_schema(operation_id="analytics_models", responses={200: dict}, parameters=[
        *COMMON, OpenApiParameter("tab", str, enum=list(TABS)),
        *[OpenApiParameter(f"{k}_id", int) for k in ("model", "deployment", "version", "connection")]])
    @replica_reads()
    def get(self, request):
        tab = request.query_params.get("tab") or "fine_tuned"
        if tab not in TABS:
            raise ValidationError({"tab": [f"must be one of {', '.join(TABS)}"]})
        sel = self.selection()
        return Response(self.envelope(sel, **model_analytics(sel, tab)))


class ProductionView(ScreenView):
    """Seed 003: KPIs, success rate bands, latency percentiles, errors, tokens, cost, prompts."""

    @extend_schema(operation_id="analytics_production", parameters=COMMON, responses={200: dict})
    @replica_reads()
    def get(self, request):
        sel = self.selection()
        return Response(self.envelope(sel, **production(sel)))


class CompareView(ScreenView):
    """Up to 3 prompts, models or versions side by side, a winner per metric and overall (D5)."""

    @extend_schema(operation_id="analytics_compare", responses={200: dict}, parameters=[
        *COMMON, OpenApiParameter("dimension", str, enum=list(COMPARE_DIMENSIONS)),
        OpenApiParameter("items", str, required=True, description="2 or 3 values, comma-separated")])
    @replica_reads()
    def get(self, request):
        sel = self.selection()
        items = [i.strip() for i in (request.query_params.get("items") or "").split(",") if i.strip()]
        if any("\x00" in i or len(i) > 200 for i in items):
            raise ValidationError({"items": ["each item is at most 200 characters without NUL"]})
        dimension = request.query_params.get("dimension") or "prompt"
        return Response(self.envelope(sel, **compare(sel, dimension, items)))


class CohortsView(ScreenView):
    """Cohorts by time, new vs returning users, feature or version (D6)."""

    @extend_schema(operation_id="analytics_cohorts", responses={200: dict}, parameters=[
        *COMMON, OpenApiParameter("by", str, enum=list(COHORT_BY))])
    @replica_reads()
    def get(self, request):
        sel = self.selection()
        return Response(self.envelope(sel, **cohorts(sel, request.query_params.get("by") or "day")))


class UsageView(ScreenView):
    """Seed 004: users, engagement, adoption, session pattern, speed, quality, cost, cache."""

    @extend_schema(operation_id="analytics_usage", parameters=COMMON, responses={200: dict})
    @replica_reads()
    def get(self, request):
        sel = self.selection()
        return Response(self.envelope(sel, **usage(sel)))


class AlertsView(ScreenView):
    """Alert events of the selection open at some moment of the range, latest first (D12)."""

    @extend_schema(operation_id="analytics_alerts", responses={200: dict}, parameters=[
        *COMMON, OpenApiParameter("limit", int, description=f"events listed, 1 to {EVENTS_LIMIT} (default 10)")])
    @replica_reads()
    def get(self, request):
        sel = self.selection()
        raw = request.query_params.get("limit") or "10"
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= EVENTS_LIMIT:
            raise ValidationError({"limit": [f"a whole number from 1 to {EVENTS_LIMIT}"]})
        return Response(self.envelope(sel, **alert_events_for_selection(sel.account, sel.start, sel.end,
                                                                        sel.filters, int(raw))))
