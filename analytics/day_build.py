"""Rebuild a run of an account's local days from raw traces (A1, A2): every hourly row,
hourly total, daily row, daily total, one-dimension daily slice and per-user daily row.

PostgreSQL reads the run's traces once and hands over each column as one binary array
(analytics.day_fetch). Everything else is array arithmetic here: each trace gets its
local hour, minute and sketch buckets; the (minute, combination) groups are sums over
traces sorted by them; the hourly rows and the minute totals and slices add those up, and
every coarser level adds up the finer one (counts and sums add,
minima and maxima combine, sketch buckets and minute counts add, and a busiest minute is
the largest of the summed minutes, a minute lying inside one hour). The users of each
daily row, the distinct users of each day and the month bitmaps come from the
(daily row, user) pairs. analytics.day_write COPYs the result.

Sums of money stay exact: each cost arrives as whole units and twelve decimals, is
summed as three integers (units, millionths, millionths of millionths) and becomes
numeric again on the way out.
"""
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from analytics.day_fetch import FLAG_BITS, Fetched
from analytics.models import MINUTE_SLICES, SLICE_COLUMNS, SLICES
from analytics.sketch import LN_GAMMA

HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000
# Stands for the sketch's "z" key (values <= 0): below every real bucket (the smallest
# positive double is bucket -37,220), and close enough that (group, bucket) keys stay small.
ZERO_BUCKET = -(1 << 16)

INT_SUMS = ("input_tokens", "output_tokens", "ratings_sum")
FLOAT_SUMS = ("latency_sum", "ttft_sum", "queue_sum", "network_sum")
MONEY = ("cost_usd", "credits")
MONEY_PARTS = tuple(f"{column}_{part}" for column in MONEY for part in range(3))


@dataclass
class Level:
    """One level of rows: `n` groups, their measures, and the pairs behind the maps. The
    summed measures are columns of two matrices (integer and float) so that each level
    costs a few array operations, not one per column."""
    n: int
    ints: np.ndarray    # n × len(int_columns): counts, integer sums, money parts
    floats: np.ndarray  # n × len(FLOAT_SUMS)
    latency_min: np.ndarray
    latency_max: np.ndarray
    lat: tuple          # (group, bucket, count) arrays, sorted by group then bucket
    ttft: tuple
    minutes: tuple      # (group, minute, count) arrays; hourly levels only
    peak: np.ndarray
    int_columns: tuple

    @property
    def m(self):
        """column -> array of n values (money as three integer parts)."""
        out = {c: self.ints[:, i] for i, c in enumerate(self.int_columns)}
        out.update({c: self.floats[:, i] for i, c in enumerate(FLOAT_SUMS)})
        out.update(latency_min=self.latency_min, latency_max=self.latency_max)
        return out


class Grouping:
    """Values reduced per group index in [0, n), every group present: one sort, then a
    reduceat per column (exact integer sums, float sums in trace order)."""

    def __init__(self, index, n):
        self.order = np.argsort(index, kind="stable")
        self.starts = np.searchsorted(index[self.order], np.arange(n))

    def __call__(self, values, how=np.add):
        return how.reduceat(values[self.order], self.starts, axis=0)


def _pairs(group, key, weight):
    """(group, key) pairs with summed weights, sorted by group then key."""
    if group.size == 0:
        return group, key, weight
    kmin = key.min()
    span = int(key.max() - kmin) + 1
    combined = group.astype(np.int64) * span + (key - kmin)
    uniq, inverse = np.unique(combined, return_inverse=True)
    counts = np.bincount(inverse, weights=weight, minlength=uniq.size).astype(np.int64)
    return uniq // span, uniq % span + kmin, counts


def _lift_pairs(pairs, mapping):
    group, key, count = pairs
    return _pairs(mapping[group], key, count)


def cumulative(pairs, lineage, n):
    """Running sketches: for each of n groups, the (group, key, count) pairs of its lineage
    (lineage[group]: the groups of one local day, or of one value in one day) summed over
    that group and every earlier group of the lineage (groups of a lineage are in time
    order). A key present once is carried into every later group of its lineage."""
    group, key, count = pairs
    if group.size == 0:
        return pairs
    # The groups of each lineage in time order, and each group's position in its lineage.
    order = np.lexsort((np.arange(n), lineage))
    lin_sorted = lineage[order]
    lin_start = np.searchsorted(lin_sorted, lin_sorted, side="left")
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n) - lin_start
    lin_size = np.bincount(lineage, minlength=lineage.max() + 1)
    # One series per (lineage, key): its counts in position order, summed as they go.
    kmin = key.min()
    span = int(key.max() - kmin) + 1
    series_key = lineage[group].astype(np.int64) * span + (key - kmin)
    by_series = np.lexsort((position[group], series_key))
    s_key, s_pos, s_count = series_key[by_series], position[group][by_series], count[by_series]
    running = np.cumsum(s_count)
    series, first = np.unique(s_key, return_index=True)
    before = np.concatenate(([0], running))[first]  # the running total before each series
    # Every position of the lineage from the series' first one on.
    s_lin = series // span
    first_pos = s_pos[first]
    length = lin_size[s_lin] - first_pos
    out_series = np.repeat(np.arange(series.size), length)
    offsets = np.arange(out_series.size) - np.repeat(np.cumsum(length) - length, length)
    out_pos = first_pos[out_series] + offsets
    # The running count at the last occurrence at or before each position.
    last = np.searchsorted(s_key * (n + 1) + s_pos, series[out_series] * (n + 1) + out_pos, side="right") - 1
    values = running[last] - before[out_series]
    out_group = order[lin_start[np.searchsorted(lin_sorted, s_lin[out_series])] + out_pos]
    out_key = series[out_series] % span + kmin
    resorted = np.lexsort((out_key, out_group))
    return out_group[resorted], out_key[resorted], values[resorted]


def _peak(minutes, n):
    group, _, count = minutes
    peak = np.zeros(n, dtype=np.int64)
    np.maximum.at(peak, group, count)
    return peak


def _buckets(values):
    """The sketch bucket of each value (analytics.sketch.bucket_of), NaN left to the caller."""
    with np.errstate(divide="ignore", invalid="ignore"):
        keys = np.ceil(np.log(values) / LN_GAMMA)
    keys = np.where(values <= 0, ZERO_BUCKET, keys)
    return keys.astype(np.int64)


def combo_level(data: Fetched, period_index):
    """One group per (period, combination) present in the traces — the periods are the
    minutes; every other level is lifted from this one. Its peak is its requests (a minute)."""
    combos = data.combo
    n_combos = data.n_combos
    key = period_index.astype(np.int64) * n_combos + combos
    uniq, group = np.unique(key, return_inverse=True)
    n = uniq.size
    int_columns = ("requests", *FLAG_BITS, "ttft_count", *INT_SUMS, *MONEY_PARTS)
    ints = np.empty((group.size, len(int_columns)), dtype=np.int64)
    ints[:, 0] = 1
    bits = np.array(list(FLAG_BITS.values()), dtype=np.int64)
    flagged = len(bits)
    ints[:, 1:1 + flagged] = (data.flags[:, None] & bits) != 0
    ints[:, 1 + flagged] = ~np.isnan(data.ttft)
    for i, column in enumerate(INT_SUMS):
        ints[:, 2 + flagged + i] = data.ints[column]
    for i, values in enumerate(part for column in MONEY for part in data.money[column]):
        ints[:, 2 + flagged + len(INT_SUMS) + i] = values
    floats = np.nan_to_num(np.column_stack([data.floats[column] for column in FLOAT_SUMS]), nan=0.0)
    by_group = Grouping(group, n)
    ones = np.ones(group.size, dtype=np.int64)
    lat = _pairs(group, _buckets(data.latency), ones)
    has_ttft = ~np.isnan(data.ttft)
    ttft = _pairs(group[has_ttft], _buckets(data.ttft[has_ttft]), ones[has_ttft])
    summed = by_group(ints)
    level = Level(n, summed, by_group(floats), by_group(data.latency, np.minimum),
                  by_group(data.latency, np.maximum), lat, ttft, None, summed[:, 0].copy(), int_columns)
    return level, uniq // n_combos, uniq % n_combos, group


def lift(level: Level, mapping, n, minutes=False):
    """The coarser level whose group of each finer group is mapping[group]. Its busiest
    minute is the busiest of its minute counts when they are kept (minutes=True: the
    finer level's minute pairs, or, given an array, the minute of each finer group, which
    then is one minute), else the largest of the finer peaks: right when the finer groups
    of one coarser group never share a minute (the hours of one combination); other
    callers set their own."""
    by_group = Grouping(mapping, n)
    lat = _lift_pairs(level.lat, mapping)
    ttft = _lift_pairs(level.ttft, mapping)
    if isinstance(minutes, np.ndarray):
        mins = _pairs(mapping, minutes, level.ints[:, 0])
    else:
        mins = _lift_pairs(level.minutes, mapping) if minutes else None
    if mins is not None:
        peak = _peak(mins, n)
    else:
        peak = np.zeros(n, dtype=np.int64)
        np.maximum.at(peak, mapping, level.peak)
    return Level(n, by_group(level.ints), by_group(level.floats), by_group(level.latency_min, np.minimum),
                 by_group(level.latency_max, np.maximum), lat, ttft, mins, peak, level.int_columns)


def json_maps(pairs, n, minute_keys=False):
    """Each group's {key: count} map as JSON text (jsonb orders the keys itself)."""
    group, key, count = pairs
    if minute_keys:
        keys = key.tolist()
    else:
        keys = ["z" if k == ZERO_BUCKET else k for k in key.tolist()]
    fragments = [f'"{k}": {c}' for k, c in zip(keys, count.tolist())]
    bounds = np.searchsorted(group, np.arange(n + 1)).tolist()
    return ["{" + ", ".join(fragments[a:b]) + "}" for a, b in zip(bounds[:-1], bounds[1:])]


@dataclass
class Built:
    """Every row of a run, as levels and the indexes that place their groups."""
    hourly: Level
    hourly_hour: np.ndarray      # hour index of each hourly row
    hourly_combo: np.ndarray
    hourly_minutes: list         # JSON text per hourly row
    hour_totals: Level
    hour_total_minutes: list
    daily: Level
    daily_day: np.ndarray
    daily_combo: np.ndarray
    day_totals: Level
    active_users: np.ndarray
    slices: list                 # (slice name, Level, day index, value index, values, value of each combination)
    users: tuple                 # (daily row, user index, requests, cost parts)
    hour_starts: list            # UTC instants (µs) of the hour indexes
    days: list                   # local dates of the day indexes
    combos: list                 # dimension values of each combination
    user_names: list
    hour_users: tuple            # (hour index, user index) of each hour's distinct users, sorted
    hourly_slices: list          # (slice name, Level, hour index, value index, values, minute JSON, (row, user))
    month_users: tuple           # (user index, day bits) of the run's month (runs lie in one month)
    slice_users: list            # per slice: (value index, user index, day bits), values as in `slices`
    minute_starts: list          # UTC instants (µs) of the minute indexes
    minute_totals: Level
    minute_users: tuple          # (minute index, user index) of each minute's distinct users, sorted
    minute_slices: list          # (slice name, Level, minute index, value index, values, (row, user))
    day_user_hours: list         # ("" or slice name, day index, value index, values, (row, user), hour bits)
    hour_total_cum: tuple        # (latency, ttft) running pairs of each hour total over its local day
    hourly_slice_cum: list       # the same per hourly slice (by position in hourly_slices), per day and value


def build(data: Fetched, account) -> Built:
    """All levels of the fetched traces (at least one), on the account's local hours and days."""
    shift = data.hour_shift_us
    hour_us = (data.at - shift) // HOUR_US * HOUR_US + shift
    hours, hour_index = np.unique(hour_us, return_inverse=True)
    hour_days = [datetime.fromtimestamp(h / 1e6, timezone.utc).astimezone(account.tzinfo).date()
                 for h in hours.tolist()]
    days = sorted(set(hour_days))
    day_of_hour = np.array([days.index(d) for d in hour_days], dtype=np.int64)

    # Minute × combination first: the hourly rows and the minute rows both add it up.
    minutes, minute_index = np.unique(data.at // MINUTE_US, return_inverse=True)
    per_minute, mc_minute, mc_combo, trace_mc = combo_level(data, minute_index)
    minute_us = minutes * MINUTE_US
    hour_of_minute = np.searchsorted(hours, (minute_us - shift) // HOUR_US * HOUR_US + shift)
    n_combos = data.n_combos
    h_uniq, mc_to_h = np.unique(hour_of_minute[mc_minute] * n_combos + mc_combo, return_inverse=True)
    hourly = lift(per_minute, mc_to_h, h_uniq.size, minutes=minutes[mc_minute])
    h_hour, h_combo = h_uniq // n_combos, h_uniq % n_combos
    trace_hourly = mc_to_h[trace_mc]
    hour_totals = lift(hourly, h_hour, hours.size, minutes=True)

    d_uniq, h_to_d = np.unique(day_of_hour[h_hour] * n_combos + h_combo, return_inverse=True)
    daily = lift(hourly, h_to_d, d_uniq.size)
    d_day, d_combo = d_uniq // n_combos, d_uniq % n_combos
    day_totals = lift(daily, d_day, len(days))
    # A day's busiest minute is the busiest of its hour totals' minutes.
    day_totals.peak = np.zeros(len(days), dtype=np.int64)
    np.maximum.at(day_totals.peak, day_of_hour, hour_totals.peak)

    slices = []
    for name in SLICES:
        values, value_index = data.slice_values(SLICE_COLUMNS[name])
        s_uniq, d_to_s = np.unique(d_day * len(values) + value_index[d_combo], return_inverse=True)
        level = lift(daily, d_to_s, s_uniq.size)
        # The value's busiest minute of the day: its minutes summed over combinations.
        level.peak = _peak(_lift_pairs(hourly.minutes, d_to_s[h_to_d]), s_uniq.size)
        slices.append((name, level, s_uniq // len(values), s_uniq % len(values), values, value_index))

    # The users of each daily row (requests and cost), and the distinct users of each day.
    named = data.user >= 0
    n_users = max(len(data.user_names), 1)

    hourly_slices = []
    for name, _, _, _, values, value_index in slices:
        hs_uniq, h_to_hs = np.unique(h_hour * len(values) + value_index[h_combo], return_inverse=True)
        level = lift(hourly, h_to_hs, hs_uniq.size, minutes=True)
        # The value's distinct users of each hour: (slice row, user) pairs.
        pairs = np.unique(h_to_hs[trace_hourly[named]] * n_users + data.user[named])
        hourly_slices.append((name, level, hs_uniq // len(values), hs_uniq % len(values), values,
                              json_maps(level.minutes, level.n, True), (pairs // n_users, pairs % n_users)))
    minute_totals = lift(per_minute, mc_minute, minutes.size)
    minute_totals.peak = minute_totals.ints[:, 0].copy()
    minute_slices = []
    for name, _, _, _, values, value_index in slices:
        if name not in MINUTE_SLICES:
            continue
        ms_uniq, mc_to_ms = np.unique(mc_minute * len(values) + value_index[mc_combo], return_inverse=True)
        level = lift(per_minute, mc_to_ms, ms_uniq.size)
        level.peak = level.ints[:, 0].copy()
        pairs = np.unique(mc_to_ms[trace_mc[named]] * n_users + data.user[named])
        minute_slices.append((name, level, ms_uniq // len(values), ms_uniq % len(values), values,
                              (pairs // n_users, pairs % n_users)))
    minute_user = np.unique(minute_index[named] * n_users + data.user[named])
    trace_daily = h_to_d[trace_hourly][named]
    u_uniq, u_group = np.unique(trace_daily * n_users + data.user[named], return_inverse=True)
    u_daily, u_user = u_uniq // n_users, u_uniq % n_users
    u_requests = np.bincount(u_group, minlength=u_uniq.size).astype(np.int64)
    by_user = Grouping(u_group, u_uniq.size)
    u_cost = [by_user(part[named]) for part in data.money["cost_usd"]]
    day_user = np.unique(d_day[u_daily] * n_users + u_user)
    hour_user = np.unique(hour_index[named] * n_users + data.user[named])
    active = np.bincount(day_user // n_users, minlength=len(days)).astype(np.int64)

    # Each day's users with the bits of their local hours, for the account and per sliced value.
    day_start_us = np.array([int(datetime(d.year, d.month, d.day, tzinfo=account.tzinfo).timestamp() * 1e6)
                             for d in days], dtype=np.int64)
    # (A zone whose offset within the hour changes can start an hour before its day: bit 0.)
    hour_bit = np.left_shift(1, np.clip((hours - day_start_us[day_of_hour]) // HOUR_US, 0, 30)).astype(np.int64)
    hu_hour, hu_user = hour_user // n_users, hour_user % n_users
    key, bits = _bits(day_of_hour[hu_hour] * n_users + hu_user, hour_bit[hu_hour])
    user_days, pair_row = np.unique(key // n_users, return_inverse=True)
    day_user_hours = [("", user_days, np.zeros(user_days.size, dtype=np.int64), [()], (pair_row, key % n_users),
                       bits)]
    for name, _, hs_hour, hs_value, values, _, (row, user) in hourly_slices:
        dv_uniq, dv_row = np.unique(day_of_hour[hs_hour[row]] * len(values) + hs_value[row], return_inverse=True)
        key, bits = _bits(dv_row * n_users + user, hour_bit[hs_hour[row]])
        out_row = key // n_users
        day_user_hours.append((name, dv_uniq // len(values), dv_uniq % len(values), values,
                               (out_row, key % n_users), bits))

    # Running sketches of each day (and each value's day) hour by hour: a partial day's whole
    # hours are the difference of two rows, however many hours they are.
    hourly_slice_cum = []
    for _, level, hs_hour, hs_value, values, _, _ in hourly_slices:
        _, lineage = np.unique(day_of_hour[hs_hour] * len(values) + hs_value, return_inverse=True)
        hourly_slice_cum.append(tuple(cumulative(pairs, lineage, level.n) for pairs in (level.lat, level.ttft)))

    # Month bitmaps: bit d-1 for day d of the month, OR-ed per user (and per sliced value).
    day_bit = np.array([1 << (d.day - 1) for d in days], dtype=np.int64)
    month_users = _bits(day_user % n_users, day_bit[day_user // n_users])
    slice_users = []
    for _, _, _, _, _, value_index in slices:
        value = value_index[d_combo[u_daily]]
        key, bits = _bits(value * n_users + u_user, day_bit[d_day[u_daily]])
        slice_users.append((key // n_users, key % n_users, bits))
    return Built(hourly, h_hour, h_combo, json_maps(hourly.minutes, hourly.n, True), hour_totals,
                 json_maps(hour_totals.minutes, hour_totals.n, True), daily, d_day, d_combo, day_totals,
                 active, slices, (u_daily, u_user, u_requests, u_cost), hours.tolist(), days, data.combos,
                 data.user_names, (hour_user // n_users, hour_user % n_users), hourly_slices, month_users,
                 slice_users, minute_us.tolist(), minute_totals, (minute_user // n_users, minute_user % n_users),
                 minute_slices, day_user_hours,
                 tuple(cumulative(pairs, day_of_hour, hours.size) for pairs in (hour_totals.lat, hour_totals.ttft)),
                 hourly_slice_cum)


def _bits(key, bits):
    """(distinct keys, OR of their bits)."""
    if key.size == 0:
        return key, bits
    uniq, inverse = np.unique(key, return_inverse=True)
    return uniq, Grouping(inverse, uniq.size)(bits, np.bitwise_or)
