"""Explorer endpoints (X1–X4): thin — parse the selection, call the query, render."""
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.scoping import AccountScopedAPIView
from analytics.selectors import FILTERS
from config.replica_reads import replica_reads
from traces.explorer.columns import FILTER_COLUMNS
from traces.explorer.params import PRESETS, explorer_query
from traces.explorer.query import DEFAULT_PAGE, MAX_PAGE, explorer_summary, trace_detail, trace_page
from traces.explorer.serializers import SummarySerializer, TraceDetailSerializer, TracePageSerializer

ERROR_BODY = inline_serializer("ExplorerError", {"message": serializers.CharField(), "errors": serializers.DictField()})
SELECTION_PARAMETERS = [
    OpenApiParameter("preset", str, enum=list(PRESETS), description="A named period in the account's timezone; "
                     "instead of start/end. Default: the last 30 days."),
    OpenApiParameter("start", str, description="RFC 3339 timestamp or local date (default: 30 days before end)"),
    OpenApiParameter("end", str, description="RFC 3339 timestamp or local date, inclusive (default: now)"),
    *[OpenApiParameter(name, str) for name in FILTERS],
    OpenApiParameter("prompt_id", str, description="alias of prompt"),
]
LIST_PARAMETERS = [
    *SELECTION_PARAMETERS,
    OpenApiParameter("status", str, enum=["success", "failure"]),
    OpenApiParameter("search", str, description="An existing request ID finds that trace; any other text is looked for in request IDs, input and output (case-insensitive)."),
    OpenApiParameter("filter", str, many=True, description=(
        "Column filter, repeatable: `column:operator:value`; steps after the first may start with `and:` or "
        "`or:` (all the same — mixing AND and OR is a 400). Columns: "
        + "; ".join(f"`{k}` ({', '.join(v['operators'])})" for k, v in FILTER_COLUMNS.items())
        + ". Response time is `m:s:ms`, e.g. `response_time:gt:0:2:500`.")),
    OpenApiParameter("sort", str, enum=["-executed_at", "executed_at"], description="Default newest first."),
    OpenApiParameter("cursor", str, description="From a page's next/previous link."),
    OpenApiParameter("page_size", int, description=f"1–{MAX_PAGE}, default {DEFAULT_PAGE}"),
]


def page_size(query) -> int:
    raw = query.get("page_size")
    if raw in (None, ""):
        return DEFAULT_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise ValidationError({"page_size": [f"must be a whole number from 1 to {MAX_PAGE}"]})
    return int(raw)


class TraceListView(AccountScopedAPIView):
    """Traces newest first (X1, X3), keyset-paginated: pages never skip or repeat rows, however deep."""

    @extend_schema(operation_id="traces_list", parameters=LIST_PARAMETERS,
                   responses={200: TracePageSerializer, 400: ERROR_BODY})
    @replica_reads()
    def get(self, request):
        query = explorer_query(self.account, request.query_params)
        page = trace_page(query, cursor=request.query_params.get("cursor") or None,
                          size=page_size(request.query_params))
        return Response({"results": page["results"], "next": self._link(page["next_cursor"]),
                         "previous": self._link(page["previous_cursor"])})

    def _link(self, cursor):
        if cursor is None:
            return None
        query = self.request.query_params.copy()
        query["cursor"] = cursor
        return self.request.build_absolute_uri(f"{self.request.path}?{query.urlencode()}")


class TraceDetailView(AccountScopedAPIView):
    """One trace with payloads, metadata, registry details and feedback (X4)."""

    @extend_schema(operation_id="traces_retrieve", responses={200: TraceDetailSerializer, 404: ERROR_BODY})
    @replica_reads()
    def get(self, request, request_id):
        # No stored request_id holds a NUL (PostgreSQL text cannot), so such an id names nothing.
        item = None if "\x00" in request_id else trace_detail(self.account, request_id)
        if item is None:
            raise Http404
        return Response(item)


class ExplorerSummaryView(AccountScopedAPIView):
    """X2 for the selected model and period: total requests, P90/P99 response time, failure
    rate, hosting credits (null for external models). Column filters and search do not apply."""

    @extend_schema(operation_id="explorer_summary", parameters=SELECTION_PARAMETERS,
                   responses={200: SummarySerializer, 400: ERROR_BODY})
    @replica_reads()
    def get(self, request):
        query = explorer_query(self.account, request.query_params)
        return Response({"period": {"start": query.sel.start.isoformat(), "end": query.sel.end.isoformat()},
                         "preset": query.preset, "filters": query.sel.filters, "metrics": explorer_summary(query)})
