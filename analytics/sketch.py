"""A mergeable log-bucket quantile sketch (DDSketch's mapping) with 1% relative accuracy.

PostgreSQL computes bucket indexes in the rollup GROUP BY, so raw values never travel
to Python; sketches are {index: count} maps that merge by adding counts. The value
reported for a bucket is within ALPHA of every value in it.
"""
import math
from collections import Counter

ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
LN_GAMMA = math.log(GAMMA)
ZERO_BUCKET = "z"  # values <= 0 (a 0 ms response) are counted apart
# SQL for a value column's bucket key, as text (jsonb object keys are text).
SQL_BUCKET = ("CASE WHEN {col} <= 0 THEN 'z' "
              "ELSE ceil(ln({col}) / " + repr(LN_GAMMA) + ")::int::text END")


def bucket_of(value: float) -> str:
    return ZERO_BUCKET if value <= 0 else str(math.ceil(math.log(value) / LN_GAMMA))


def bucket_value(key: str) -> float:
    if key == ZERO_BUCKET:
        return 0.0
    i = int(key)
    return 2 * GAMMA ** i / (GAMMA + 1)


def merge(sketches) -> Counter:
    total = Counter()
    for sketch in sketches:
        if sketch:
            total.update({k: int(v) for k, v in sketch.items()})
    return total


def quantile(sketch: Counter, q: float) -> float | None:
    """The value at rank q·(n−1) (lower rank, as DDSketch), within 1% relative."""
    n = sum(sketch.values())
    if n == 0:
        return None
    rank = q * (n - 1)
    ordered = sorted(sketch.items(), key=lambda kv: -math.inf if kv[0] == ZERO_BUCKET else int(kv[0]))
    seen = 0
    for key, count in ordered:
        seen += count
        if seen > rank:
            return bucket_value(key)
    return bucket_value(ordered[-1][0])
