"""Write a rebuilt run of days (analytics.day_build.Built): one binary COPY per table
(analytics.copy_binary), so no row is formatted as text or unpacked from parameters.

Each combination's dimension fields are encoded once and repeated per row. Money arrives
as three integer sums (whole units, millionths, millionths of millionths) and becomes
numeric exactly. The users' month bitmaps follow (write_months).
"""
import numpy as np

from analytics.aggregate_sql import DIMS, NULLABLE, SUM_COLUMNS
from analytics.copy_binary import (INT4, INT8, NUMERIC, VARCHAR, NUMERIC_DIGITS, Rows, array_field, element_records,
                                   field, int8_field, numeric_digits)
from analytics.day_build import FLOAT_SUMS, MONEY, Built, Level, json_maps
from analytics.models import SLICE_COLUMNS, SLICED

_FLOATS = (*FLOAT_SUMS, "latency_min", "latency_max")
_TEXT_DIMS = {d for d in DIMS if not d.endswith("_id")}


def _measures(rows: Rows, level: Level):
    m = level.m
    for column in SUM_COLUMNS:
        if column in MONEY:
            rows.numeric(column, *(m[f"{column}_{part}"] for part in range(3)))
        elif column in _FLOATS:
            rows.float8(column, m[column])
        else:
            rows.int8(column, m[column])
    rows.int4("peak_minute_requests", level.peak)


def _sketches(rows: Rows, level: Level):
    rows.jsonb("latency_sketch", json_maps(level.lat, level.n))
    rows.jsonb("ttft_sketch", json_maps(level.ttft, level.n))


def _value_field(column, value) -> bytes:
    """One dimension's field: text as is, an id as int8, a nullable id stored as 0 as NULL."""
    if column in _TEXT_DIMS:
        return field(value.encode())
    return field(None) if column in NULLABLE and not value else int8_field(value)


def _combo_fields(combo) -> bytes:
    return b"".join(_value_field(dim, value) for dim, value in zip(DIMS, combo))


_EMPTY = {column: field(b"") if column in _TEXT_DIMS else field(None) for column in SLICED}


def _slice_fields(name, value) -> bytes:
    """slice and the sliced columns: the value (a tuple) in the slice's columns, the others
    empty (NULL ids, '' names); no deployment is NULL. name '' is the account's row."""
    values = dict(zip(SLICE_COLUMNS[name], value)) if name else {}
    return field(name.encode()) + b"".join(_value_field(c, values[c]) if c in values else _EMPTY[c] for c in SLICED)


def _slice_columns(rows: Rows, name, values, value_of_row):
    """slice and the sliced columns of each row, from its value's index among values."""
    pieces = [_slice_fields(name, value) for value in values]
    rows.encoded(["slice", *SLICED], [pieces[v] for v in value_of_row.tolist()])


def _user_arrays(built: Built):
    """Each daily row's user_ids, user_requests and user_cost fields, encoded."""
    u_daily, u_user, u_requests, u_cost = built.users
    names = [field(name.encode()) for name in built.user_names]
    ids = [names[u] for u in u_user.tolist()]
    requests = element_records(">i8", 8, u_requests)
    cost = element_records(NUMERIC_DIGITS, 24, numeric_digits(*u_cost))
    bounds = np.searchsorted(u_daily, np.arange(built.daily.n + 1)).tolist()
    return [array_field(VARCHAR, b - a, b"".join(ids[a:b])) + array_field(INT8, b - a, requests[12 * a:12 * b])
            + array_field(NUMERIC, b - a, cost[28 * a:28 * b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _user_id_arrays(built: Built, pairs, n):
    """The user_ids field of each of n rows from sorted (row, user) pairs, encoded."""
    row, user = pairs
    names = [field(name.encode()) for name in built.user_names]
    ids = [names[u] for u in user.tolist()]
    bounds = np.searchsorted(row, np.arange(n + 1)).tolist()
    return [array_field(VARCHAR, b - a, b"".join(ids[a:b])) for a, b in zip(bounds[:-1], bounds[1:])]


def write(cursor, account_id, built: Built):
    """COPY every row of the run: hourly rows and totals, daily rows (with their users) and
    totals, the daily and hourly slices, and the minute totals and slices."""
    days = np.array([d.toordinal() for d in built.days], dtype=np.int64)
    hours = np.array(built.hour_starts, dtype=np.int64)
    combos = [_combo_fields(combo) for combo in built.combos]

    hourly = Rows(built.hourly.n)
    hourly.timestamptz("hour_start", hours[built.hourly_hour])
    _measures(hourly, built.hourly)
    hourly.encoded(DIMS, [combos[c] for c in built.hourly_combo.tolist()])
    _sketches(hourly, built.hourly)
    hourly.jsonb("minute_counts", built.hourly_minutes)
    hourly.copy(cursor, "analytics_hourlyrollup", account_id)

    totals = Rows(built.hour_totals.n)
    totals.timestamptz("hour_start", hours)
    _measures(totals, built.hour_totals)
    _sketches(totals, built.hour_totals)
    totals.jsonb("minute_counts", built.hour_total_minutes)
    _array_sketches(totals, built.hour_totals, built.hour_total_cum)
    totals.encoded(["user_ids"], _user_id_arrays(built, built.hour_users, built.hour_totals.n))
    totals.copy(cursor, "analytics_hourlytotal", account_id)

    daily = Rows(built.daily.n)
    daily.date("day", days[built.daily_day])
    _measures(daily, built.daily)
    daily.encoded(DIMS, [combos[c] for c in built.daily_combo.tolist()])
    _sketches(daily, built.daily)
    daily.encoded(["user_ids", "user_requests", "user_cost"], _user_arrays(built))
    daily.copy(cursor, "analytics_dailyrollup", account_id)

    day_totals = Rows(built.day_totals.n)
    day_totals.date("day", days)
    _measures(day_totals, built.day_totals)
    day_totals.int8("active_users", built.active_users)
    _sketches(day_totals, built.day_totals)
    day_totals.copy(cursor, "analytics_dailytotal", account_id)

    for name, level, s_day, s_value, values, _ in built.slices:
        sliced = Rows(level.n)
        sliced.date("day", days[s_day])
        _measures(sliced, level)
        _slice_columns(sliced, name, values, s_value)
        _sketches(sliced, level)
        sliced.copy(cursor, "analytics_dailyslice", account_id)

    for (name, level, s_hour, s_value, values, minutes, users), cum in zip(built.hourly_slices,
                                                                           built.hourly_slice_cum):
        sliced = Rows(level.n)
        sliced.timestamptz("hour_start", hours[s_hour])
        _measures(sliced, level)
        _slice_columns(sliced, name, values, s_value)
        _sketches(sliced, level)
        sliced.jsonb("minute_counts", minutes)
        sliced.encoded(["user_ids"], _user_id_arrays(built, users, level.n))
        _array_sketches(sliced, level, cum)
        sliced.copy(cursor, "analytics_hourlyslice", account_id)
    write_minutes(cursor, account_id, built)
    write_day_user_hours(cursor, account_id, built)


def _array_sketches(rows: Rows, level: Level, cum=None):
    """Sketches as (keys int4[], counts int8[]) per row, encoded for all rows at once
    (analytics.models.MinuteSketches); cum: the running sketches instead (RunningSketches)."""
    names = ("latency_cum", "ttft_cum") if cum else ("latency", "ttft")
    for name, (group, key, count) in zip(names, cum or (level.lat, level.ttft)):
        keys, counts = element_records(">i4", 4, key), element_records(">i8", 8, count)
        bounds = np.searchsorted(group, np.arange(level.n + 1)).tolist()
        rows.encoded([f"{name}_keys", f"{name}_counts"],
                     [array_field(INT4, b - a, keys[8 * a:8 * b]) + array_field(INT8, b - a, counts[12 * a:12 * b])
                      for a, b in zip(bounds[:-1], bounds[1:])])


def write_minutes(cursor, account_id, built: Built):
    """COPY the minute totals and minute slices of the run (their peak is their requests)."""
    minutes = np.array(built.minute_starts, dtype=np.int64)
    totals = Rows(built.minute_totals.n)
    totals.timestamptz("minute_start", minutes)
    _measures(totals, built.minute_totals)
    _array_sketches(totals, built.minute_totals)
    totals.encoded(["user_ids"], _user_id_arrays(built, built.minute_users, built.minute_totals.n))
    totals.copy(cursor, "analytics_minutetotal", account_id)

    for name, level, s_minute, s_value, values, users in built.minute_slices:
        sliced = Rows(level.n)
        sliced.timestamptz("minute_start", minutes[s_minute])
        _measures(sliced, level)
        _slice_columns(sliced, name, values, s_value)
        _array_sketches(sliced, level)
        sliced.encoded(["user_ids"], _user_id_arrays(built, users, level.n))
        sliced.copy(cursor, "analytics_minuteslice", account_id)


def write_day_user_hours(cursor, account_id, built: Built):
    """COPY each day's users with their hour bits: the account's row per day (slice '') and
    one per day and sliced value."""
    days = np.array([d.toordinal() for d in built.days], dtype=np.int64)
    for name, row_day, row_value, values, pairs, bits in built.day_user_hours:
        n = row_day.size
        rows = Rows(n)
        rows.date("day", days[row_day])
        _slice_columns(rows, name, values, row_value)
        rows.encoded(["user_ids"], _user_id_arrays(built, pairs, n))
        encoded = element_records(">i4", 4, bits)
        bounds = np.searchsorted(pairs[0], np.arange(n + 1)).tolist()
        rows.encoded(["hours"], [array_field(INT4, b - a, encoded[8 * a:8 * b])
                                 for a, b in zip(bounds[:-1], bounds[1:])])
        rows.copy(cursor, "analytics_dayuserhours", account_id)


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
            {**params, "users": [names[i] for i in users.tolist()], "bits": bits.tolist()})

    cursor.execute(f"DELETE FROM analytics_slicemonthusers WHERE account_id = %(account)s AND month = %(month)s "
                   f"RETURNING slice, {', '.join(SLICED)}, user_ids, days", params)
    rows = {}  # (slice, *values) -> {user id: day bits}
    for slice_name, *values, user_ids, days in cursor.fetchall():
        kept = [(u, d & ~mask) for u, d in zip(user_ids, days) if d & ~mask]
        if kept:
            rows[(slice_name, *values)] = dict(kept)
    for (name, _, _, _, values, _), (value, user, bits) in zip(built.slices, built.slice_users) if built else ():
        if not value.size:
            continue
        empty = {c: "" if c in _TEXT_DIMS else 0 for c in SLICED}  # no deployment is 0
        bounds = np.flatnonzero(np.diff(value)) + 1
        user_names = [names[i] for i in user.tolist()]
        bit_list = bits.tolist()
        for a, b in zip([0, *bounds.tolist()], [*bounds.tolist(), value.size]):
            key = (name, *({**empty, **dict(zip(SLICE_COLUMNS[name], values[value[a]]))}[c] for c in SLICED))
            fresh = zip(user_names[a:b], bit_list[a:b])
            if key in rows:
                merged = rows[key]
                for u, d in fresh:
                    merged[u] = merged.get(u, 0) | d
            else:
                rows[key] = dict(fresh)
    with cursor.copy(f"COPY analytics_slicemonthusers (account_id, slice, {', '.join(SLICED)}, month, user_ids, "
                     "days) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "text", *("text" if c in _TEXT_DIMS else "int8" for c in SLICED), "date",
                        "varchar[]", "int4[]"])
        for (slice_name, *values), users in rows.items():
            copy.write_row((account_id, slice_name, *values, month, list(users), list(users.values())))
