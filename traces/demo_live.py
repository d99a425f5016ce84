"""Live demo traffic: the demo account keeps receiving requests shaped like a real day.

A beat task calls `demo_live_tick` every minute while the demo is on (MODELPULSE_DEMO_LIVE,
`start --no-demo` turns it off). Each tick sends the minutes since the last one (at most
LIVE_MAX_CATCH_UP_MINUTES, so a machine waking up does not flood the account), about one
request a second on average, following the same daily and weekly rhythm as the 30 days
loaded on the first start. Every third hour the external provider has a short error spike,
which the demo's "Demo: error spike" rule catches.
"""
import math
import random
from datetime import datetime, timedelta, timezone

from django.core.cache import cache

from accounts.models import Account
from traces.demo import FEATURES, MODELS, _rhythm, trace_item
from traces.services import trace_ingest_batch

DEMO_SLUG = "demo"
LAST_MINUTE_KEY = "demo-live:last-minute"
LIVE_PER_DAY = 86_400  # one request a second on average
LIVE_MAX_CATCH_UP_MINUTES = 10
SPIKE_EVERY_HOURS = 3
SPIKE_MINUTES = range(20, 32)  # twelve minutes: long enough for a 5-minute window held 5 minutes
SPIKE_FAIL_RATE = 0.45


def _average_rhythm(tz_offset: float) -> float:
    start = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a Monday: one whole week
    week = [_rhythm(start + timedelta(minutes=i), tz_offset) for i in range(0, 7 * 24 * 60, 10)]
    return sum(week) / len(week)


def in_spike(ts: datetime) -> bool:
    return ts.hour % SPIKE_EVERY_HOURS == 0 and ts.minute in SPIKE_MINUTES


def minute_items(account, minute: datetime, rng: random.Random) -> list[dict]:
    """The traces of one minute of live demo traffic."""
    tz_offset = (minute.astimezone(account.tzinfo).utcoffset() or timedelta()).total_seconds() / 3600
    per_minute = LIVE_PER_DAY / (24 * 60) / _average_rhythm(tz_offset)
    expected = per_minute * _rhythm(minute, tz_offset)
    count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
    users = [f"user-{i:04d}" for i in range(400)]
    weights = [m.weight for m in MODELS]
    stamp = minute.strftime("%Y%m%d%H%M")
    items = []
    for n in range(count):
        m = rng.choices(MODELS, weights)[0]
        executed = minute + timedelta(seconds=rng.random() * 60)
        latency = rng.lognormvariate(math.log(m.latency_ms), 0.45)
        fail_rate = SPIKE_FAIL_RATE if in_spike(minute) and m.provider == "openai" else m.fail_rate
        version = m.versions[-1] if m.versions else ""
        items.append(trace_item(rng, m, f"live-{stamp}-{n}", n, executed, version, latency, fail_rate,
                                rng.choice(FEATURES), lambda: rng.choice(users)))
    return items


def demo_live_tick(now: datetime | None = None) -> int:
    """Send the live demo minutes due by `now`; returns the number of traces accepted."""
    account = Account.objects.filter(slug=DEMO_SLUG).first()
    if account is None:
        return 0
    now = (now or datetime.now(timezone.utc)).replace(second=0, microsecond=0)
    last = cache.get(LAST_MINUTE_KEY)
    first = now - timedelta(minutes=1)
    if last:
        first = max(datetime.fromisoformat(last) + timedelta(minutes=1),
                    now - timedelta(minutes=LIVE_MAX_CATCH_UP_MINUTES))
    accepted = 0
    minute = first
    while minute < now:
        rng = random.Random(minute.timestamp())  # a minute's traffic is the same whoever sends it
        items = minute_items(account, minute, rng)
        if items:
            accepted += trace_ingest_batch(account, items, now=minute + timedelta(minutes=1)).accepted
        cache.set(LAST_MINUTE_KEY, minute.isoformat(), timeout=None)
        minute += timedelta(minutes=1)
    return accepted
