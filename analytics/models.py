"""Rollups: hourly rows on the account's local hours, daily rows on its local days.

Each row holds one combination of dimensions. Counts and sums are exact columns;
latency and TTFT distributions are mergeable log-bucket sketches (analytics.sketch).
"""
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Value

from accounts.models import AccountOwned


class RollupOwned(AccountOwned):
    """Rollup rows are derived from traces, whose account key is enforced. A deferred
    foreign-key check here cost one lookup per written row at commit (a fifth of a rollup
    build), and every rollup table has a composite index that starts with the account, so
    neither the constraint nor a separate account index is kept. Deleting an account still
    deletes its rollups (Django's on_delete)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+",
                                db_constraint=False, db_index=False)

    class Meta:
        abstract = True


DIMENSIONS = ("model_id", "model_type", "provider", "deployment_id", "version_id", "connection_id", "source_type",
              "source", "module", "feature", "prompt", "prompt_version")


class MetricColumns(RollupOwned):
    """The measures of a rollup row: exact counts and sums, mergeable sketches."""

    requests = models.BigIntegerField()
    successes = models.BigIntegerField()
    failures = models.BigIntegerField()
    fail_timeout = models.BigIntegerField()
    fail_rate_limit = models.BigIntegerField()
    fail_llm_error = models.BigIntegerField()
    fail_validation = models.BigIntegerField()
    fail_system = models.BigIntegerField()
    fail_network = models.BigIntegerField()
    http_4xx = models.BigIntegerField()
    http_5xx = models.BigIntegerField()
    latency_sum = models.FloatField()
    latency_min = models.FloatField()
    latency_max = models.FloatField()
    latency_sketch = models.JSONField()
    ttft_count = models.BigIntegerField()
    ttft_sum = models.FloatField()
    ttft_sketch = models.JSONField()
    queue_sum = models.FloatField()
    network_sum = models.FloatField()
    input_tokens = models.BigIntegerField()
    output_tokens = models.BigIntegerField()
    cost_usd = models.DecimalField(max_digits=30, decimal_places=12)
    credits = models.DecimalField(max_digits=30, decimal_places=12)
    cache_hits = models.BigIntegerField()
    ratings_count = models.BigIntegerField()
    ratings_sum = models.BigIntegerField()
    thumbs_up = models.BigIntegerField()
    thumbs_down = models.BigIntegerField()
    accepted = models.BigIntegerField()
    edited = models.BigIntegerField()
    regenerated = models.BigIntegerField()
    task_success = models.BigIntegerField()
    task_total = models.BigIntegerField()
    feedback_count = models.BigIntegerField()
    peak_minute_requests = models.IntegerField()

    class Meta:
        abstract = True


class RollupColumns(MetricColumns):
    model_id = models.BigIntegerField()
    model_type = models.CharField(max_length=16)
    provider = models.CharField(max_length=100)
    deployment_id = models.BigIntegerField(null=True)
    version_id = models.BigIntegerField(null=True)
    connection_id = models.BigIntegerField(null=True)
    source_type = models.CharField(max_length=16)
    source = models.CharField(max_length=200)
    module = models.CharField(max_length=200)
    feature = models.CharField(max_length=200)
    prompt = models.CharField(max_length=200)
    prompt_version = models.CharField(max_length=100)

    class Meta:
        abstract = True


class RunningSketches(models.Model):
    """The sketches of the row's local day so far (from the day's start through the end of
    this hour, for the account or for the row's value), as MinuteSketches' arrays: the whole
    hours [a, b) of a day are the last row before b minus the last row before a."""

    latency_cum_keys = ArrayField(models.IntegerField(), default=list)
    latency_cum_counts = ArrayField(models.BigIntegerField(), default=list)
    ttft_cum_keys = ArrayField(models.IntegerField(), default=list)
    ttft_cum_counts = ArrayField(models.BigIntegerField(), default=list)

    class Meta:
        abstract = True


class HourlyRollup(RollupColumns):
    hour_start = models.DateTimeField(help_text="Start of the account's local hour, in UTC.")
    minute_counts = models.JSONField(default=dict, help_text="Requests per Unix minute, for the exact peak RPM.")

    class Meta:
        indexes = [models.Index(fields=["account", "hour_start"], name="hourly_rollup_account_hour")]


class DailyRollup(RollupColumns):
    """A local day of one combination of dimensions, with its users: `user_ids[i]` made
    `user_requests[i]` requests costing `user_cost[i]` — exact distinct users over any
    range and filters (active users, queries per user, cost per user) without raw traces."""

    day = models.DateField(help_text="The account's local day.")
    user_ids = ArrayField(models.CharField(max_length=200), default=list, db_default=Value([], ArrayField(
        models.CharField(max_length=200))))
    user_requests = ArrayField(models.BigIntegerField(), default=list, help_text="By position in user_ids.",
                               db_default=Value([], ArrayField(models.BigIntegerField())))
    user_cost = ArrayField(models.DecimalField(max_digits=30, decimal_places=12), default=list,
                           help_text="By position in user_ids.", db_default=Value([], ArrayField(
                               models.DecimalField(max_digits=30, decimal_places=12))))

    class Meta:
        indexes = [models.Index(fields=["account", "day"], name="daily_rollup_account_day")]


class HourlyTotal(RunningSketches, MetricColumns):
    """All of an account's rollup rows of one local hour merged: what unfiltered screens read.
    `user_ids` are the hour's distinct users, so the distinct users of the whole hours of a
    partial day are a union of a few small arrays instead of a pass over raw traces."""

    hour_start = models.DateTimeField()
    minute_counts = models.JSONField(default=dict)
    user_ids = ArrayField(models.CharField(max_length=200), default=list, db_default=Value([], ArrayField(
        models.CharField(max_length=200))))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "hour_start"], name="hourly_total_uniq")]


class DailyTotal(MetricColumns):
    """All of an account's rollup rows of one local day merged."""

    day = models.DateField()
    active_users = models.BigIntegerField(default=0, db_default=0, help_text="Exact distinct users of the day.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "day"], name="daily_total_uniq")]


SLICES = ("model_id", "deployment_id", "feature", "prompt", "model_feature")
# The columns each slice sets (the others stay empty). model × feature is the Performance
# table's grouping and the pair people filter on together.
SLICE_COLUMNS = {"model_id": ("model_id",), "deployment_id": ("deployment_id",), "feature": ("feature",),
                 "prompt": ("prompt",), "model_feature": ("model_id", "feature")}
SLICED = ("model_id", "deployment_id", "feature", "prompt")  # the columns slices set
MINUTE_SLICES = ("model_id", "deployment_id", "feature", "prompt")  # pairs at the edges read raw


class SliceValues(models.Model):
    """The value of a slice (analytics.models.SLICE_COLUMNS): `slice` names it, its columns
    hold the value and the others stay empty (NULL ids, '' names)."""

    slice = models.CharField(max_length=16, choices=[(s, s) for s in SLICES])
    model_id = models.BigIntegerField(null=True)
    deployment_id = models.BigIntegerField(null=True)
    feature = models.CharField(max_length=200, blank=True, default="", db_default="")
    prompt = models.CharField(max_length=200, blank=True, default="", db_default="")

    class Meta:
        abstract = True


class DailySlice(SliceValues, MetricColumns):
    """An account's daily rows merged down to one dimension (`slice` names it; the other
    columns are empty): breakdowns by model, deployment, feature or prompt, and filters on that
    one dimension, read a few rows per day instead of every combination of dimensions.
    peak_minute_requests is the value's exact busiest minute of the day."""

    day = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["account", "slice", "day"], name="daily_slice_account_day")]


class HourlySlice(SliceValues, RunningSketches, MetricColumns):
    """An account's hourly rows merged down to one dimension, like DailySlice, for the whole
    hours of partial days: a filter on, or a breakdown by, model, deployment, feature or
    prompt reads a row per value and hour instead of every combination, with the value's
    requests per minute (exact peak) and its distinct users of the hour."""

    hour_start = models.DateTimeField()
    minute_counts = models.JSONField(default=dict)
    user_ids = ArrayField(models.CharField(max_length=200), default=list, db_default=Value([], ArrayField(
        models.CharField(max_length=200))))

    class Meta:
        indexes = [models.Index(fields=["account", "slice", "hour_start"], name="hourly_slice_account_hour")]


class MinuteSketches(models.Model):
    """Sketches as parallel arrays of bucket keys and counts (the "z" bucket of values <= 0
    is key ZERO_KEY): minute rows are many and small, and arrays are written by binary COPY
    and unnested without parsing JSON."""

    ZERO_KEY = -(1 << 16)
    latency_keys = ArrayField(models.IntegerField(), default=list)
    latency_counts = ArrayField(models.BigIntegerField(), default=list)
    ttft_keys = ArrayField(models.IntegerField(), default=list)
    ttft_counts = ArrayField(models.BigIntegerField(), default=list)

    class Meta:
        abstract = True


class MinuteTotal(MinuteSketches, MetricColumns):
    """All of an account's traces of one minute merged: the whole minutes at the edges of a
    range that cuts hours, so a default range ("the last 7 days", cut mid-hour at both
    ends) reads at most two partial minutes of raw traces whatever the traffic. The
    minute's requests are its own peak; `user_ids` are its distinct users."""

    latency_sketch = ttft_sketch = None  # as arrays: MinuteSketches
    minute_start = models.DateTimeField()
    user_ids = ArrayField(models.CharField(max_length=200), default=list, db_default=Value([], ArrayField(
        models.CharField(max_length=200))))

    class Meta:
        indexes = [models.Index(fields=["account", "minute_start"], name="minute_total_account_minute")]


class MinuteSlice(SliceValues, MinuteSketches, MetricColumns):
    """An account's traces of one minute merged down to one value of model, deployment,
    feature or prompt (like HourlySlice): the edges of a range filtered on, or broken down
    by, one of those dimensions."""

    latency_sketch = ttft_sketch = None  # as arrays: MinuteSketches
    minute_start = models.DateTimeField()
    user_ids = ArrayField(models.CharField(max_length=200), default=list, db_default=Value([], ArrayField(
        models.CharField(max_length=200))))

    class Meta:
        indexes = [models.Index(fields=["account", "slice", "minute_start"], name="minute_slice_account_minute")]


class DayUserHours(SliceValues, RollupOwned):
    """The users of one local day and their hours: bit i of `hours[k]` is set when
    `user_ids[k]` made a request in the day's local hour i (counted from the day's start).
    One row per day for the account (`slice` empty) and one per day and value of model,
    deployment, feature or prompt (like DailySlice). The distinct users of the whole hours of
    a partial day are one masked unnest of a row per value, whatever the number of hours."""

    day = models.DateField()
    slice = models.CharField(max_length=16, blank=True, choices=[("", "account"), *((s, s) for s in SLICES)])
    user_ids = ArrayField(models.CharField(max_length=200), default=list)
    hours = ArrayField(models.IntegerField(), default=list, help_text="Hour bits of user_ids[k], by position.")

    class Meta:
        indexes = [models.Index(fields=["account", "slice", "day"], name="day_user_hours_account_day")]


class UserMonth(RollupOwned):
    """One row per user and local month; bit d-1 of `days` is set when the user made a
    request on day d. Distinct users of any run of whole days (unfiltered) read one small
    row per user and month instead of one per user and day; a user is returning when a bit
    of an earlier day is set (new vs returning)."""

    user_id = models.CharField(max_length=200)
    month = models.DateField(help_text="First day of the account's local month.")
    days = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "month", "user_id"], name="user_month_uniq")]


class RollupState(AccountOwned):
    """When the account's rollups were last brought up to date ("as of")."""

    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE, related_name="rollup_state")
    as_of = models.DateTimeField()
    timezone = models.CharField(max_length=64)


class SliceMonthUsers(RollupOwned):
    """The users of one value of a sliced dimension in one local month (`slice` names the
    dimension; the other value columns hold 0 or ''; no deployment is 0): `user_ids[i]` made
    a request with that model, deployment, feature or prompt on day d when bit d-1 of
    `days[i]` is set. Distinct users per value over whole days (feature adoption,
    breakdowns) unnest one row per value and month; a rollup pass rewrites a few rows
    instead of one per user."""

    slice = models.CharField(max_length=16, choices=[(s, s) for s in SLICES])
    model_id = models.BigIntegerField(default=0, db_default=0)
    deployment_id = models.BigIntegerField(default=0, db_default=0)
    feature = models.CharField(max_length=200, blank=True, default="", db_default="")
    prompt = models.CharField(max_length=200, blank=True, default="", db_default="")
    month = models.DateField(help_text="First day of the account's local month.")
    user_ids = ArrayField(models.CharField(max_length=200), default=list)
    days = ArrayField(models.IntegerField(), default=list, help_text="Day bits of user_ids[i], by position.")

    class Meta:
        indexes = [models.Index(fields=["account", "slice", "month"], name="slice_month_users_account")]
