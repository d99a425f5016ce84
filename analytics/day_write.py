"""Write a rebuilt run of days (analytics.day_build.Built): one INSERT … SELECT FROM
unnest(arrays) per table, the arrays bound as parameters, so no row is formatted as text.

Combinations of dimensions travel once, as columns of their own, and rows join them by
position. Money arrives as three integer sums (whole units, millionths, millionths of
millionths) and is joined into numeric here, exactly.
"""
import struct

import numpy as np
import psycopg
from psycopg.adapt import Dumper

from analytics.aggregate_sql import DIMS, NULLABLE, SUM_COLUMNS
from analytics.day_build import FLOAT_SUMS, MONEY, Built, Level, json_maps
from analytics.models import SLICES

_FLOATS = (*FLOAT_SUMS, "latency_min", "latency_max")
_TEXT_DIMS = {d for d in DIMS if not d.endswith("_id")}


def _measure_arrays(level: Level, prefix=""):
    """(parameter, SQL type, values) for every measure of a level, and the SELECT
    expressions of the measure columns, in MEASURES order."""
    arrays, exprs = [], []
    for column in SUM_COLUMNS:
        if column in MONEY:
            for part in range(3):
                arrays.append((f"{column}_{part}", "int8", Int8Array(level.m[f"{column}_{part}"])))
            exprs.append(f"r.{column}_0 + r.{column}_1 * 0.000001 + r.{column}_2 * 0.000000000001")
        else:
            arrays.append((column, "float8", Float8Array(level.m[column])) if column in _FLOATS else
                          (column, "int8", Int8Array(level.m[column])))
            exprs.append(f"r.{column}")
    arrays.append(("latency_sketch", "text", json_maps(level.lat, level.n)))
    arrays.append(("ttft_sketch", "text", json_maps(level.ttft, level.n)))
    arrays.append(("peak_minute_requests", "int8", Int8Array(level.peak)))
    exprs += ["r.latency_sketch::jsonb", "r.ttft_sketch::jsonb", "r.peak_minute_requests"]
    return arrays, exprs


MEASURES = (*SUM_COLUMNS, "latency_sketch", "ttft_sketch", "peak_minute_requests")


def _insert(cursor, table, account_id, columns, exprs, arrays, combos=None, users=None):
    """INSERT INTO table (account_id, columns) SELECT account, exprs FROM unnest(arrays) r
    [JOIN the combinations c ON r.combo] [LEFT JOIN each row's users u, as arrays]."""
    params = {"account": account_id}
    names = []
    for name, sql_type, values in arrays:
        params[f"r_{name}"] = values
        names.append((name, sql_type))
    unnest = ", ".join(f"%(r_{n})b::{t}[]" for n, t in names)
    source = f"unnest({unnest}) WITH ORDINALITY AS r({', '.join(n for n, _ in names)}, rn)"
    ctes = []
    if combos is not None:
        for i, dim in enumerate(DIMS):
            params[f"c_{dim}"] = [combo[i] for combo in combos]
        combo_arrays = ", ".join(f"%(c_{d})b::{'text' if d in _TEXT_DIMS else 'int8'}[]" for d in DIMS)
        ctes.append(f"c AS (SELECT * FROM unnest({combo_arrays}) WITH ORDINALITY AS c({', '.join(DIMS)}, n))")
        source += " JOIN c ON c.n = r.combo + 1"
    if users is not None:
        params.update(users)
        # One pass makes the three arrays, so their positions agree.
        ctes.append("u AS (SELECT rn, array_agg(user_id) AS user_ids, array_agg(requests) AS user_requests, "
                    "array_agg(c0 + c1 * 0.000001 + c2 * 0.000000000001) AS user_cost "
                    "FROM unnest(%(u_row)b::int8[], %(u_user)b::text[], %(u_requests)b::int8[], %(u_c0)b::int8[], "
                    "%(u_c1)b::int8[], %(u_c2)b::int8[]) AS x(rn, user_id, requests, c0, c1, c2) GROUP BY rn)")
        source += " LEFT JOIN u ON u.rn = r.rn"
        columns = [*columns, "user_ids", "user_requests", "user_cost"]
        exprs = [*exprs, "coalesce(u.user_ids, '{}')", "coalesce(u.user_requests, '{}')", "coalesce(u.user_cost, '{}')"]
    with_ctes = f"WITH {', '.join(ctes)} " if ctes else ""
    cursor.execute(f"{with_ctes}INSERT INTO {table} (account_id, {', '.join(columns)}) "
                   f"SELECT %(account)s, {', '.join(exprs)} FROM {source}", params)


def _dims_out():
    return [f"nullif(c.{d}, 0)" if d in NULLABLE else f"c.{d}" for d in DIMS]


def write(cursor, account_id, built: Built, first_day):
    day = f"(date '{first_day.isoformat()}' + r.day::int)"
    offsets = np.array([(d - first_day).days for d in built.days], dtype=np.int64)
    hour = "to_timestamp(r.hour)"
    hour_seconds = np.array(built.hour_starts, dtype=np.int64) // 1_000_000

    arrays, exprs = _measure_arrays(built.hourly)
    arrays += [("hour", "int8", Int8Array(hour_seconds[built.hourly_hour])),
               ("combo", "int8", Int8Array(built.hourly_combo)), ("minute_counts", "text", built.hourly_minutes)]
    _insert(cursor, "analytics_hourlyrollup", account_id, ["hour_start", *DIMS, *MEASURES, "minute_counts"],
            [hour, *_dims_out(), *exprs, "r.minute_counts::jsonb"], arrays, built.combos)

    arrays, exprs = _measure_arrays(built.hour_totals)
    arrays += [("hour", "int8", Int8Array(hour_seconds)), ("minute_counts", "text", built.hour_total_minutes)]
    _insert(cursor, "analytics_hourlytotal", account_id, ["hour_start", *MEASURES, "minute_counts"],
            [hour, *exprs, "r.minute_counts::jsonb"], arrays)

    arrays, exprs = _measure_arrays(built.daily)
    arrays += [("day", "int8", Int8Array(offsets[built.daily_day])), ("combo", "int8", Int8Array(built.daily_combo))]
    u_daily, u_user, u_requests, u_cost = built.users
    users = {"u_row": Int8Array(u_daily + 1), "u_user": [built.user_names[i] for i in u_user.tolist()],
             "u_requests": Int8Array(u_requests), **{f"u_c{part}": Int8Array(v) for part, v in enumerate(u_cost)}}
    _insert(cursor, "analytics_dailyrollup", account_id, ["day", *DIMS, *MEASURES],
            [day, *_dims_out(), *exprs], arrays, built.combos, users)

    arrays, exprs = _measure_arrays(built.day_totals)
    arrays += [("day", "int8", Int8Array(offsets)), ("active_users", "int8", Int8Array(built.active_users))]
    _insert(cursor, "analytics_dailytotal", account_id, ["day", *MEASURES, "active_users"],
            [day, *exprs, "r.active_users"], arrays)

    for name, level, s_day, s_value, values in built.slices:
        arrays, exprs = _measure_arrays(level)
        chosen = [values[i] for i in s_value.tolist()]
        arrays += [("day", "int8", Int8Array(offsets[s_day])),
                   ("value", "text" if name in _TEXT_DIMS else "int8", chosen)]
        # The other sliced columns are left empty: NULL ids, '' names; no deployment is NULL.
        out = {c: ("''" if c in _TEXT_DIMS else "NULL") for c in SLICES}
        out[name] = "nullif(r.value, 0)" if name in NULLABLE else "r.value"
        _insert(cursor, "analytics_dailyslice", account_id, ["slice", "day", *SLICES, *MEASURES],
                [f"'{name}'", day, *(out[c] for c in SLICES), *exprs], arrays)



class Int8Array:
    """A numpy array bound as int8[] (binary, built by numpy, not element by element)."""
    element, oid, width = 20, 1016, 8

    def __init__(self, values):
        self.values = values


class Float8Array(Int8Array):
    element, oid, width = 701, 1022, 8


class _NumpyArrayDumper(Dumper):
    format = psycopg.pq.Format.BINARY

    def dump(self, obj):
        values = obj.values
        if values.size == 0:
            return struct.pack(">iii", 0, 0, obj.element)
        body = np.empty(values.size, dtype=[("n", ">i4"), ("v", ">i8" if obj.oid == 1016 else ">f8")])
        body["n"] = obj.width
        body["v"] = values
        return struct.pack(">iiiii", 1, 0, obj.element, values.size, 1) + body.tobytes()


class _Int8ArrayDumper(_NumpyArrayDumper):
    oid = Int8Array.oid


class _Float8ArrayDumper(_NumpyArrayDumper):
    oid = Float8Array.oid


def register_dumpers(cursor):
    cursor.adapters.register_dumper(Int8Array, _Int8ArrayDumper)
    cursor.adapters.register_dumper(Float8Array, _Float8ArrayDumper)


def write_months(cursor, account_id, month, mask, built):
    """The users' month bitmaps for a run of days inside one month: the run's day bits
    (mask) are cleared, then set again from the run's users — UserMonth per user, and
    SliceMonthUsers per sliced value, whose rows of the month are read, merged here and
    written back."""
    params = {"account": account_id, "month": month, "mask": mask}
    cursor.execute("UPDATE analytics_usermonth SET days = days & ~%(mask)s WHERE account_id = %(account)s "
                   "AND month = %(month)s AND days & %(mask)s <> 0", params)
    names = built.user_names if built else []
    if built and built.month_users[0].size:
        users, bits = built.month_users
        cursor.execute(
            "INSERT INTO analytics_usermonth (account_id, user_id, month, days) "
            "SELECT %(account)s, u, %(month)s, d FROM unnest(%(users)b::text[], %(bits)b::int8[]) AS x(u, d) "
            "ON CONFLICT (account_id, month, user_id) DO UPDATE SET days = analytics_usermonth.days | EXCLUDED.days",
            {**params, "users": [names[i] for i in users.tolist()], "bits": Int8Array(bits)})

    cursor.execute(f"DELETE FROM analytics_slicemonthusers WHERE account_id = %(account)s AND month = %(month)s "
                   f"RETURNING slice, {', '.join(SLICES)}, user_ids, days", params)
    rows = {}  # (slice, *values) -> (user ids, day bits)
    for slice_name, *values, user_ids, days in cursor.fetchall():
        kept = [(u, d & ~mask) for u, d in zip(user_ids, days) if d & ~mask]
        if kept:
            rows[(slice_name, *values)] = dict(kept)
    for (name, _, _, _, values), (value, user, bits) in zip(built.slices, built.slice_users) if built else ():
        if not value.size:
            continue
        empty = {c: "" if c in _TEXT_DIMS else 0 for c in SLICES}  # no deployment is 0
        bounds = np.flatnonzero(np.diff(value)) + 1
        user_names = [names[i] for i in user.tolist()]
        bit_list = bits.tolist()
        for a, b in zip([0, *bounds.tolist()], [*bounds.tolist(), value.size]):
            key = (name, *({**empty, name: values[value[a]]}[c] for c in SLICES))
            fresh = zip(user_names[a:b], bit_list[a:b])
            if key in rows:
                merged = rows[key]
                for u, d in fresh:
                    merged[u] = merged.get(u, 0) | d
            else:
                rows[key] = dict(fresh)
    with cursor.copy(f"COPY analytics_slicemonthusers (account_id, slice, {', '.join(SLICES)}, month, user_ids, "
                     "days) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "text", *("text" if c in _TEXT_DIMS else "int8" for c in SLICES), "date",
                        "varchar[]", "int4[]"])
        for (slice_name, *values), users in rows.items():
            copy.write_row((account_id, slice_name, *values, month, list(users), list(users.values())))
