"""Query parameters of the metrics endpoints: range and filters, 400 with field and reason."""
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

from analytics.buckets import day_start
from analytics.selectors import FILTERS, Selection
from analytics.selectors.metrics import ID_FILTERS

DEFAULT_RANGE = timedelta(days=7)
MAX_RANGE = timedelta(days=3 * 366)


def _instant(account, raw: str, name: str, end: bool):
    if len(raw) == 10:
        try:
            day = parse_date(raw) if raw[4] == "-" else None
        except ValueError:
            day = None
        if day is None:
            raise ValidationError({name: [f"'{raw}' is not a date (YYYY-MM-DD)"]})
        # Dates are the account's local days; an end date includes its whole day.
        return day_start(account, day + timedelta(days=1) if end else day)
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None:
        raise ValidationError({name: [f"'{raw[:40]}' is not an RFC 3339 timestamp or a date"]})
    if timezone.is_naive(value):
        raise ValidationError({name: ["needs a UTC offset, e.g. 2026-11-22T10:00:00+05:30"]})
    return value


PRESETS = ("last_hour", "today", "yesterday", "last_24h", "this_week", "last_7d", "this_month", "last_month",
           "last_30d", "last_90d", "this_year", "last_year", "all_time")


def preset_range(account, preset: str, now: datetime) -> tuple[datetime, datetime]:
    """D1's presets in the account's timezone: [start, end) as UTC instants."""
    today = now.astimezone(account.tzinfo).date()
    day = lambda d: day_start(account, d)  # noqa: E731
    month_start = today.replace(day=1)
    last_month_start = (month_start - timedelta(days=1)).replace(day=1)
    ranges = {
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
        "all_time": (now - MAX_RANGE, now),
    }
    return ranges[preset]


def selection_from_query(account, query, default_range: timedelta = DEFAULT_RANGE) -> Selection:
    now = timezone.now()
    preset = query.get("preset")
    if preset and (query.get("start") or query.get("end")):
        raise ValidationError({"preset": ["give either preset or start/end, not both"]})
    if preset:
        if preset not in PRESETS:
            raise ValidationError({"preset": [f"must be one of {', '.join(PRESETS)}"]})
        start, end = preset_range(account, preset, now)
        if end <= start:  # e.g. "today" in the first instant of the day
            end = start + timedelta(seconds=1)
        return Selection(account=account, start=start, end=end, filters=_filters(query), preset=preset)
    end = _instant(account, query["end"], "end", True) if query.get("end") else now
    start = _instant(account, query["start"], "start", False) if query.get("start") else end - default_range
    if end <= start:
        raise ValidationError({"end": ["must be after start"]})
    if end - start > MAX_RANGE:
        raise ValidationError({"start": ["ranges are limited to 3 years"]})
    return Selection(account=account, start=start, end=end, filters=_filters(query))


def _filters(query) -> dict:
    filters = {}
    for name in ID_FILTERS:
        value = query.get(name)
        if value:
            if not value.isascii() or not value.isdigit() or len(value) > 18:
                raise ValidationError({name: ["must be an integer id"]})
            filters[name] = int(value)
    for name in FILTERS:
        value = query.get(name)
        if name == "prompt" and not value:
            value = query.get("prompt_id")
        if value:
            if "\x00" in value or len(value) > 200:
                raise ValidationError({name: ["must be at most 200 characters without NUL"]})
            filters[name] = value
    return filters
