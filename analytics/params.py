"""Query parameters of the metrics endpoints: range and filters, 400 with field and reason."""
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

from analytics.buckets import day_start
from analytics.selectors import FILTERS, Selection

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


def selection_from_query(account, query) -> Selection:
    now = timezone.now()
    end = _instant(account, query["end"], "end", True) if query.get("end") else now
    start = _instant(account, query["start"], "start", False) if query.get("start") else end - DEFAULT_RANGE
    if end <= start:
        raise ValidationError({"end": ["must be after start"]})
    if end - start > MAX_RANGE:
        raise ValidationError({"start": ["ranges are limited to 3 years"]})
    filters = {}
    for name in FILTERS:
        value = query.get(name)
        if name == "prompt" and not value:
            value = query.get("prompt_id")
        if value:
            if "\x00" in value or len(value) > 200:
                raise ValidationError({name: ["must be at most 200 characters without NUL"]})
            filters[name] = value
    return Selection(account=account, start=start, end=end, filters=filters)
