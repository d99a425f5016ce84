"""Django admin for platform staff: traces and export jobs, browsable and filterable.

The trace table is large: counts are estimated from the planner's statistics rather than
counted, and lists never join more than the account and the model.
"""
from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

from accounts.admin_base import HistoryAdmin, OperatorAdmin
from traces.models import DirtyBucket, ExplorerPreference, ExportJob, Feedback, RedactionRule, Trace


class EstimatedCountPaginator(Paginator):
    """Exact counts on filtered lists; the planner's estimate for the whole table."""

    @cached_property
    def count(self):
        query = self.object_list.query
        if query.where:
            return super().count
        with connection.cursor() as cursor:
            # The table is partitioned (decision 0005): its partitions hold the statistics.
            cursor.execute("SELECT sum(c.reltuples)::bigint FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                           "WHERE i.inhparent = %s::regclass AND c.reltuples > 0", [Trace._meta.db_table])
            row = cursor.fetchone()
        estimate = row[0] if row and row[0] is not None else -1
        return super().count if estimate is None or estimate < 10_000 else estimate


@admin.register(Trace)
class TraceAdmin(OperatorAdmin):
    list_display = ["request_id", "account", "model", "model_type", "status", "response_time_ms", "source_type",
                    "source", "executed_at"]
    list_filter = ["status", "model_type", "source_type", "error_type", "account"]
    list_select_related = ["account", "model"]
    search_fields = ["=request_id"]
    date_hierarchy = "executed_at"
    ordering = ["-executed_at", "-id"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    raw_id_fields = ["model", "deployment", "version", "connection"]
    readonly_fields = [f.name for f in Trace._meta.fields]

    def has_add_permission(self, request):
        return False  # traces arrive through ingestion only

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ExportJob)
class ExportJobAdmin(OperatorAdmin):
    list_display = ["id", "account", "filename", "format", "status", "rows_written", "rows_total", "created_by",
                    "api_key", "created_at", "finished_at", "expired"]
    list_filter = ["status", "format", "expired", "account"]
    list_select_related = ["account", "created_by", "api_key"]
    search_fields = ["filename", "created_by__email", "error"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in ExportJob._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Feedback)
class FeedbackAdmin(OperatorAdmin):
    list_display = ["request_id", "account", "rating", "thumbs", "accepted", "updated_at"]
    list_filter = ["thumbs", "account"]
    search_fields = ["=request_id"]


@admin.register(ExplorerPreference)
class ExplorerPreferenceAdmin(OperatorAdmin):
    list_display = ["user", "account", "selection", "hidden_columns", "updated_at"]
    list_filter = ["account"]
    search_fields = ["user__email", "account__slug"]


@admin.register(RedactionRule)
class RedactionRuleAdmin(OperatorAdmin):
    list_display = ["kind", "pattern", "replacement", "enabled", "account", "created_at"]
    list_filter = ["kind", "enabled", "account"]
    search_fields = ["pattern", "replacement", "account__slug"]
    list_select_related = ["account"]


@admin.register(DirtyBucket)
class DirtyBucketAdmin(HistoryAdmin):
    """Hours waiting for the rollup worker: its state, never edited by hand."""

    list_display = ["account", "hour_start", "marked_at"]
    list_filter = ["account"]
    search_fields = ["account__slug"]
    date_hierarchy = "hour_start"
