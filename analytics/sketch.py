"""A mergeable log-bucket quantile sketch (DDSketch's mapping): buckets 2% wide, whose
representative value is within 1% of every value in them.

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


def _bounds(key: str) -> tuple[float, float]:
    """(lower, upper] of a bucket's values; the zero bucket holds only 0."""
    if key == ZERO_BUCKET:
        return 0.0, 0.0
    i = int(key)
    return GAMMA ** (i - 1), GAMMA ** i


def quantile(sketch: Counter, q: float, lo: float | None = None, hi: float | None = None) -> float | None:
    """The value at rank ⌊q·(n−1)⌋ of the n values in ascending order (numpy's
    percentile with method="lower", the "lower rank" of DDSketch): a latency some request
    really had, never a blend of two.

    A bucket's c values are taken as spread evenly (in log scale) over its range, the
    j-th at lower·γ^((j+½)/c), so a percentile moves with its rank inside the bucket
    instead of snapping to one representative value; lo and hi, the exact minimum and
    maximum of the selection when known, narrow the first and last bucket. The answer
    always lies in the bucket of the exact value (docs/percentiles.md).
    """
    n = sum(sketch.values())
    if n == 0:
        return None
    ordered = sorted(((k, c) for k, c in sketch.items() if c),
                     key=lambda kv: -math.inf if kv[0] == ZERO_BUCKET else int(kv[0]))
    return _value_at(ordered, math.floor(q * (n - 1)), lo, hi)


def _value_at(ordered, rank: int, lo, hi) -> float:
    seen = 0
    last = len(ordered) - 1
    for index, (key, count) in enumerate(ordered):
        if seen + count > rank:
            lower, upper = _bounds(key)
            if key == ZERO_BUCKET:
                return 0.0
            if index == 0 and lo is not None and lower < lo <= upper:
                lower = lo
            if index == last and hi is not None and lower <= hi < upper:
                upper = hi
            j = rank - seen
            if index == last and hi is not None and j == count - 1 and upper == hi:
                return hi  # the largest value itself
            if index == 0 and lo is not None and j == 0 and lower == lo:
                return lo  # the smallest value itself
            if upper <= lower:
                return upper
            return lower * (upper / lower) ** ((j + 0.5) / count)
        seen += count
    return _bounds(ordered[-1][0])[1] if hi is None else hi
