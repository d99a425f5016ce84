"""Read a run of an account's traces as columns: one query, grouped by combination of
dimensions (and by the few values the counts read), each per-trace column one binary
array that numpy reads in place.

Nullable values arrive as sentinels the arithmetic understands (NaN for a missing
duration, 0 for missing tokens or money, a flag bit for what is counted), money as
whole units plus twelve decimals in an integer, so no trace crosses into Python as an
object except its user id.
"""
from dataclasses import dataclass

import numpy as np
import psycopg
from psycopg.adapt import Loader

from analytics.aggregate_sql import COUNTED, DIMS, NULLABLE
from analytics.copy_binary import PG_EPOCH_US

FLAG_BITS = {column: 1 << i for i, column in enumerate(COUNTED)}  # one bit per count column
PICO = 10 ** 12

_flags = " + ".join(f"CASE WHEN {cond} THEN {FLAG_BITS[c]} ELSE 0 END" for c, cond in COUNTED.items())
# Every column the counts and the rating read has few values: grouping by them as well as
# by the dimensions evaluates the flags once per group instead of once per trace.
_FLAGGED = ("status", "error_type", "http_status", "cache_hit", "fid IS NOT NULL", "rating", "thumbs", "accepted",
            "edited", "regenerated", "task_success")


def _money(column):
    """Whole units and the twelve decimals as integers; numeric arithmetic is skipped for
    NULL (credits, for most traffic)."""
    return (f"array_agg(CASE WHEN {column} IS NULL THEN 0 ELSE trunc({column})::int8 END), "
            f"array_agg(CASE WHEN {column} IS NULL THEN 0 ELSE (({column} - trunc({column})) * {PICO})::int8 END)")


# The base rows carry the names COUNTED reads (analytics.aggregate_sql).
FETCH_SQL = f"""
SELECT {", ".join(DIMS)}, {_flags}, coalesce(rating, 0)::int8, array_agg(executed_at), array_agg(user_id),
       array_agg(response_time_ms), array_agg(coalesce(ttft_ms, 'NaN')),
       array_agg(coalesce(queue_time_ms, 'NaN')), array_agg(coalesce(network_time_ms, 'NaN')),
       array_agg(input_tokens::int8 << 32 | output_tokens),  -- both in [0, 2^31)
       {_money("cost_usd")}, {_money("credits")}
FROM (SELECT {", ".join(f"coalesce(t.{d}, 0) AS {d}" if d in NULLABLE else f"t.{d}" for d in DIMS)},
             t.executed_at, t.user_id, t.status, t.error_type, t.http_status, t.cache_hit, t.response_time_ms,
             t.ttft_ms, t.queue_time_ms, t.network_time_ms, t.input_tokens, t.output_tokens, t.cost_usd, t.credits,
             f.id AS fid, f.rating, f.thumbs, f.accepted, f.edited, f.regenerated, f.task_success
      FROM traces_trace t
      LEFT JOIN traces_feedback f ON f.account_id = t.account_id AND f.request_id = t.request_id
      WHERE t.account_id = %(account)s AND t.executed_at >= %(lo)s AND t.executed_at < %(hi)s) b
GROUP BY {", ".join(DIMS)}, {", ".join(_FLAGGED)}
"""

_ELEMENT = {1185: ">i8", 1016: ">i8", 1007: ">i4", 1022: ">f8"}  # timestamptz, int8, int4, float8 arrays


class _ArrayBytes(Loader):
    """A binary array of fixed-width values, left as bytes for numpy."""
    format = psycopg.pq.Format.BINARY

    def load(self, data):
        return bytes(data)


def _numbers(raw: bytes, element: str) -> np.ndarray:
    """The values of a one-dimensional binary array without NULLs: after the 20-byte
    header every element is its 4-byte length and its value."""
    if int.from_bytes(raw[:4], "big") == 0:
        return np.empty(0, dtype=element.replace(">", "="))
    values = np.frombuffer(raw, dtype=np.dtype([("n", ">i4"), ("v", element)]), offset=20)["v"]
    return values.astype(element.replace(">", "="))


@dataclass
class Fetched:
    combos: list            # dimension values of each combination (nullable ids as 0)
    combo: np.ndarray       # combination of each trace
    at: np.ndarray          # executed_at, µs since the Unix epoch
    user: np.ndarray        # index into user_names, -1 for no user
    user_names: list
    flags: np.ndarray
    latency: np.ndarray
    ttft: np.ndarray
    floats: dict
    ints: dict
    money: dict             # column -> (whole units, millionths, millionths of millionths)
    hour_shift_us: int

    @property
    def n_combos(self):
        return len(self.combos)

    def slice_values(self, columns):
        """The distinct values of some dimensions (tuples), and each combination's index among them."""
        positions = [DIMS.index(c) for c in columns]
        index, values, of_combo = {}, [], []
        for combo in self.combos:
            value = tuple(combo[p] for p in positions)
            if value not in index:
                index[value] = len(values)
                values.append(value)
            of_combo.append(index[value])
        return values, np.array(of_combo, dtype=np.int64)


def fetch(connection, account_id, lo, hi, hour_shift_minutes) -> Fetched:
    with psycopg.Cursor(connection) as cursor:
        for oid in _ELEMENT:
            cursor.adapters.register_loader(oid, _ArrayBytes)
        cursor.execute(FETCH_SQL, {"account": account_id, "lo": lo, "hi": hi}, prepare=True, binary=True)
        rows = cursor.fetchall()
    n_dims = len(DIMS)
    combo_of = {}
    for row in rows:
        combo_of.setdefault(row[:n_dims], len(combo_of))
    combos = list(combo_of)
    columns = list(zip(*(row[n_dims:] for row in rows))) if rows else [()] * 13

    def joined(i, element):
        parts = [_numbers(raw, element) for raw in columns[i]]
        return np.concatenate(parts) if parts else np.empty(0, dtype=element.replace(">", "="))

    at_parts = [_numbers(raw, ">i8") for raw in columns[2]]
    at = np.concatenate(at_parts) if rows else np.empty(0, dtype=np.int64)
    sizes = [len(part) for part in at_parts]

    def per_group(values):
        return np.repeat(np.array(values, dtype=np.int64), sizes)

    names, user_index = {"": -1}, []
    for users in columns[3]:
        user_index.extend(names.setdefault(u, len(names) - 1) for u in users)
    user_names = [name for name in names if name != ""]

    def money(i):
        whole, fraction = joined(i, ">i8"), joined(i + 1, ">i8")
        return whole, fraction // 1_000_000, fraction % 1_000_000

    latency, ttft = joined(4, ">f8"), joined(5, ">f8")
    tokens = joined(8, ">i8")
    return Fetched(
        combos=combos, combo=per_group([combo_of[row[:n_dims]] for row in rows]), at=at + PG_EPOCH_US,
        user=np.array(user_index, dtype=np.int64), user_names=user_names, flags=per_group(columns[0]),
        latency=latency, ttft=ttft,
        floats={"latency_sum": latency, "ttft_sum": ttft, "queue_sum": joined(6, ">f8"),
                "network_sum": joined(7, ">f8")},
        ints={"input_tokens": tokens >> 32, "output_tokens": tokens & 0xFFFFFFFF, "ratings_sum": per_group(columns[1])},
        money={"cost_usd": money(9), "credits": money(11)},
        hour_shift_us=hour_shift_minutes * 60_000_000)
