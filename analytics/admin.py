"""Rollups in the operator's admin: derived state, read-only (recomputed from raw traces).
Shared behaviour: accounts.admin_base."""
from django.contrib import admin

from accounts.admin_base import HistoryAdmin
from analytics import models as m

_SLICE = ["slice", "model_id", "deployment_id", "feature", "prompt"]
_COUNTS = ["requests", "successes", "failures", "input_tokens", "output_tokens", "cost_usd"]


class RollupAdmin(HistoryAdmin):
    list_select_related = ["account"]
    show_full_result_count = False


class SliceAdmin(RollupAdmin):
    """Rows of one value of a slice (analytics.models.SliceValues); date_hierarchy is the period."""
    list_filter = ["slice", "account"]
    search_fields = ["feature", "prompt", "account__slug"]


@admin.register(m.HourlyRollup)
class HourlyRollupAdmin(RollupAdmin):
    list_display = ["hour_start", "account", "model_id", "source_type", "feature", "prompt", *_COUNTS]
    list_filter = ["source_type", "model_type", "account"]
    search_fields = ["feature", "prompt", "source", "module", "account__slug"]
    date_hierarchy = "hour_start"


@admin.register(m.DailyRollup)
class DailyRollupAdmin(RollupAdmin):
    list_display = ["day", "account", "model_id", "source_type", "feature", "prompt", *_COUNTS]
    list_filter = ["source_type", "model_type", "account"]
    search_fields = ["feature", "prompt", "source", "module", "account__slug"]
    date_hierarchy = "day"


@admin.register(m.HourlyTotal)
class HourlyTotalAdmin(RollupAdmin):
    list_display = ["hour_start", "account", *_COUNTS, "peak_minute_requests"]
    list_filter = ["account"]
    search_fields = ["account__slug"]
    date_hierarchy = "hour_start"


@admin.register(m.DailyTotal)
class DailyTotalAdmin(RollupAdmin):
    list_display = ["day", "account", *_COUNTS, "active_users"]
    list_filter = ["account"]
    search_fields = ["account__slug"]
    date_hierarchy = "day"


@admin.register(m.HourlySlice)
class HourlySliceAdmin(SliceAdmin):
    list_display = ["hour_start", "account", *_SLICE, *_COUNTS]
    date_hierarchy = "hour_start"


@admin.register(m.DailySlice)
class DailySliceAdmin(SliceAdmin):
    list_display = ["day", "account", *_SLICE, *_COUNTS]
    date_hierarchy = "day"


@admin.register(m.MinuteTotal)
class MinuteTotalAdmin(RollupAdmin):
    list_display = ["minute_start", "account", *_COUNTS]
    list_filter = ["account"]
    search_fields = ["account__slug"]
    date_hierarchy = "minute_start"


@admin.register(m.MinuteSlice)
class MinuteSliceAdmin(SliceAdmin):
    list_display = ["minute_start", "account", *_SLICE, *_COUNTS]
    date_hierarchy = "minute_start"


@admin.register(m.DayUserHours)
class DayUserHoursAdmin(SliceAdmin):
    list_display = ["day", "account", *_SLICE]
    date_hierarchy = "day"


@admin.register(m.UserMonth)
class UserMonthAdmin(RollupAdmin):
    list_display = ["month", "account", "user_id", "days"]
    list_filter = ["account"]
    search_fields = ["=user_id", "account__slug"]


@admin.register(m.SliceMonthUsers)
class SliceMonthUsersAdmin(RollupAdmin):
    list_display = ["month", "account", "slice", "model_id", "deployment_id", "feature", "prompt"]
    list_filter = ["slice", "account"]
    search_fields = ["feature", "prompt", "account__slug"]


@admin.register(m.RollupState)
class RollupStateAdmin(RollupAdmin):
    list_display = ["account", "as_of", "timezone"]
    list_filter = ["timezone"]
    search_fields = ["account__slug"]
