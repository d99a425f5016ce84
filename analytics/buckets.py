"""Local hours and days of an account, as UTC instants.

Hourly buckets are one hour long and aligned to the account's offset within the hour
(on the hour for whole-hour zones, at :30 UTC for Asia/Kolkata), so a DST change never
makes a two-hour bucket. Days are the account's local calendar days.
"""
from datetime import date, datetime, timedelta, timezone

HOUR = timedelta(hours=1)


def hour_shift_minutes(account) -> int:
    offset = datetime.now(timezone.utc).astimezone(account.tzinfo).utcoffset() or timedelta()
    return int(offset.total_seconds() // 60) % 60


def hour_floor(account, at: datetime) -> datetime:
    shift = timedelta(minutes=hour_shift_minutes(account))
    moved = at.astimezone(timezone.utc) - shift
    return moved.replace(minute=0, second=0, microsecond=0) + shift


def hour_ceil(account, at: datetime) -> datetime:
    floor = hour_floor(account, at)
    return floor if floor == at else floor + HOUR


def local_day(account, at: datetime) -> date:
    return at.astimezone(account.tzinfo).date()


def day_start(account, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=account.tzinfo).astimezone(timezone.utc)


def hour_bucket_sql(account, column="t.executed_at") -> str:
    shift = hour_shift_minutes(account)
    return (f"(date_trunc('hour', {column} - interval '{shift} minutes') + interval '{shift} minutes')"
            if shift else f"date_trunc('hour', {column})")


def day_bucket_sql(account, column="t.executed_at") -> str:
    # The zone name comes from the validated Account.timezone (IANA names only).
    return f"({column} AT TIME ZONE '{account.timezone}')::date"
