"""Per-key request rate limit for ingestion (I6), counted in Redis per minute window."""
import time

import redis
from django.conf import settings

_client = None


def _redis():
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    return _client


def check_rate(bucket: str, limit: int) -> int | None:
    """None when allowed, else the seconds to wait. A Redis outage never blocks ingestion."""
    if limit <= 0:
        return None
    window = int(time.time() // 60)
    key = f"mp:rate:{bucket}:{window}"
    try:
        pipe = _redis().pipeline()
        pipe.incr(key)
        pipe.expire(key, 120)
        count = pipe.execute()[0]
    except redis.RedisError:
        return None
    if count > limit:
        return max(1, 60 - int(time.time() % 60))
    return None
