"""Times as a person reads them: in the account's timezone, with the zone written out.

Every label, legend, e-mail and file note that shows a time goes through here, so a reader
never has to guess whether 07:16 was UTC or local.
"""
from datetime import datetime

from django.utils import timezone


def zone_name(at: datetime, tzinfo) -> str:
    """The zone's abbreviation where it has one (IST, CET, UTC), else its offset (UTC-03:00)."""
    local = at.astimezone(tzinfo)
    abbr = local.strftime("%Z")
    if abbr and abbr.isalpha():
        return abbr
    offset = local.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"


def local_text(at: datetime, tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """'2026-11-05 12:46 IST' for an aware instant in the account's timezone."""
    if timezone.is_naive(at):
        at = timezone.make_aware(at, timezone.utc)
    return f"{at.astimezone(tzinfo).strftime(fmt)} {zone_name(at, tzinfo)}"
