"""The explorer's selection: range (preset or start/end, default the last 30 days), the
metrics filters, status, search, column filters and sort — parsed once, with 400s that
name the field, and turned into the JSON an export job keeps.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

from analytics.buckets import day_start
from analytics.params import selection_from_query
from analytics.selectors import FILTERS, Selection
from analytics.selectors.metrics import ID_FILTERS
from traces.explorer.filters import Condition, parse_conditions

DEFAULT_RANGE = timedelta(days=30)
MAX_SEARCH = 200
SORTS = {"-executed_at": "desc", "executed_at": "asc"}
# D1's presets; 002 lists all_time … last_year for the explorer, last_30d is its default.
PRESETS = {
    "all_time": "All Time", "today": "Today", "yesterday": "Yesterday", "this_week": "This Week",
    "this_month": "This Month", "last_month": "Last Month", "last_30d": "Last 30 Days", "last_90d": "Last 90 Days",
    "this_year": "This Year", "last_year": "Last Year", "last_hour": "Last Hour", "last_24h": "Last 24 Hours",
    "last_7d": "Last 7 Days",
}
EXPLORER_PRESETS = ("all_time", "today", "yesterday", "this_week", "this_month", "last_month", "last_30d",
                    "last_90d", "this_year", "last_year")
SELECTION_KEYS = ("preset", "start", "end", *FILTERS, *ID_FILTERS, "prompt_id", "status", "search", "filter", "sort")


@dataclass
class ExplorerQuery:
    sel: Selection
    status: str | None = None
    search: str | None = None
    conditions: list = field(default_factory=list)
    join: str = "and"
    sort: str = "desc"
    preset: str | None = None

    @property
    def account(self):
        return self.sel.account

    def to_params(self) -> dict:
        """JSON for an export job: instants fixed, filters normalised."""
        return {
            "start": self.sel.start.isoformat(), "end": self.sel.end.isoformat(), "preset": self.preset,
            "filters": dict(self.sel.filters), "status": self.status, "search": self.search,
            "filter": [c.as_text() if i == 0 else f"{self.join}:{c.as_text()}" for i, c in enumerate(self.conditions)],
            "sort": "executed_at" if self.sort == "asc" else "-executed_at",
        }

    @classmethod
    def from_params(cls, account, params: dict) -> "ExplorerQuery":
        sel = Selection(account=account, start=parse_datetime(params["start"]), end=parse_datetime(params["end"]),
                        filters=dict(params.get("filters") or {}))
        conditions, join = parse_conditions(params.get("filter") or [])
        return cls(sel=sel, status=params.get("status"), search=params.get("search"), conditions=conditions,
                   join=join, sort=SORTS[params.get("sort") or "-executed_at"], preset=params.get("preset"))


def preset_range(account, preset: str, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of a preset in the account's timezone, as UTC instants."""
    today = now.astimezone(account.tzinfo).date()
    day = lambda d: day_start(account, d)  # noqa: E731
    month_start = today.replace(day=1)
    last_month_start = (month_start - timedelta(days=1)).replace(day=1)
    if preset == "all_time":
        # "All runs since the account was created" — and any backfilled before that.
        from traces.models import Trace

        first = Trace.objects.for_account(account).order_by("executed_at").values_list("executed_at", flat=True)[:1]
        start = min([account.created_at, *first])
        return start, now
    return {
        "last_hour": (now - timedelta(hours=1), now),
        "today": (day(today), now),
        "yesterday": (day(today - timedelta(days=1)), day(today)),
        "last_24h": (now - timedelta(hours=24), now),
        "this_week": (day(today - timedelta(days=today.weekday())), now),
        "last_7d": (now - timedelta(days=7), now),
        "this_month": (day(month_start), now),
        "last_month": (day(last_month_start), day(month_start)),
        "last_30d": (now - timedelta(days=30), now),
        "last_90d": (now - timedelta(days=90), now),
        "this_year": (day(today.replace(month=1, day=1)), now),
        "last_year": (day(today.replace(year=today.year - 1, month=1, day=1)), day(today.replace(month=1, day=1))),
    }[preset]


class Params:
    """Uniform access to a QueryDict (repeated `filter`) or a JSON object (an export's filters)."""

    def __init__(self, source, strict: bool = False, prefix: str = ""):
        self.source, self.prefix = source, prefix
        self.is_query = hasattr(source, "getlist")
        if strict:
            unknown = sorted(k for k in source if k not in SELECTION_KEYS)
            if unknown:
                raise ValidationError({f"{prefix}{unknown[0]}": [
                    f"unknown filter; use {', '.join(SELECTION_KEYS)}"]})

    def get(self, name):
        value = self.source.get(name)
        if value is None or self.is_query:
            return value
        if name in ID_FILTERS and isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise ValidationError({f"{self.prefix}{name}": ["must be a string"]})
        return value

    def steps(self):
        if self.is_query:
            return self.source.getlist("filter") or None
        return self.source.get("filter")

    def scalar_dict(self) -> dict:
        return {k: self.get(k) for k in self.source if k not in ("filter", "preset") and self.get(k) is not None}


def explorer_query(account, source, *, strict: bool = False, prefix: str = "", now=None) -> ExplorerQuery:
    """Parse the explorer's parameters from a QueryDict or an export's `filters` object."""
    params = Params(source, strict=strict, prefix=prefix)
    preset = params.get("preset") or None
    has_range = bool(params.get("start") or params.get("end"))
    if preset is not None:
        if preset not in PRESETS:
            raise ValidationError({f"{prefix}preset": [f"must be one of {', '.join(PRESETS)}"]})
        if has_range:
            raise ValidationError({f"{prefix}preset": ["give either preset or start/end, not both"]})
    scalars = params.scalar_dict()
    try:
        # The metrics endpoints' parser: dates are local days, filters are checked the same way.
        sel = selection_from_query(account, scalars)
    except ValidationError as exc:
        if prefix and isinstance(exc.detail, dict):
            raise ValidationError({f"{prefix}{k}": v for k, v in exc.detail.items()})
        raise
    if preset is not None:
        sel.start, sel.end = preset_range(account, preset, now or timezone.now())
        if sel.end <= sel.start:  # "today" at the first instant of the day
            sel.end = sel.start + timedelta(seconds=1)
    elif not params.get("start"):
        sel.start = sel.end - DEFAULT_RANGE
    status = params.get("status") or None
    if status is not None and status not in ("success", "failure"):
        raise ValidationError({f"{prefix}status": ["must be success or failure"]})
    search = (params.get("search") or "").strip() or None
    if search is not None and ("\x00" in search or len(search) > MAX_SEARCH):
        raise ValidationError({f"{prefix}search": [f"must be at most {MAX_SEARCH} characters without NUL"]})
    sort = params.get("sort") or "-executed_at"
    if sort not in SORTS:
        raise ValidationError({f"{prefix}sort": ["must be -executed_at (newest first) or executed_at"]})
    try:
        conditions, join = parse_conditions(params.steps())
    except ValidationError as exc:
        if prefix:
            raise ValidationError({f"{prefix}{k}": v for k, v in exc.detail.items()})
        raise
    return ExplorerQuery(sel=sel, status=status, search=search, conditions=conditions, join=join, sort=SORTS[sort],
                         preset=preset)
