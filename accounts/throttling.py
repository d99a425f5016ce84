"""Per-key rate limit of API reads: the same Redis minute window as ingestion (traces/ratelimit.py).

DRF answers a throttled request 429 with `Retry-After`, and the product's exception handler
gives it the usual JSON body `{"message", "errors"}`. Writes are limited elsewhere (ingestion)
or by their own rules; only safe methods count here.
"""
from django.conf import settings
from rest_framework.throttling import BaseThrottle

from traces.ratelimit import check_rate


class ReadRateThrottle(BaseThrottle):
    def allow_request(self, request, view):
        self._wait = None
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            return True
        key = getattr(request, "auth", None)
        prefix = getattr(key, "prefix", None)
        if prefix:
            bucket = f"read:key:{prefix}"
        elif request.user is not None and request.user.is_authenticated:
            bucket = f"read:user:{request.user.pk}"
        else:
            return True  # refused by authentication anyway
        self._wait = check_rate(bucket, settings.API_READ_RATE_LIMIT_PER_MINUTE)
        return self._wait is None

    def wait(self):
        return self._wait
