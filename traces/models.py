from django.conf import settings
from django.db import connection, models, transaction

from accounts.models import AccountOwned
from models_registry.models import Connection, Deployment, DeploymentVersion, Model


class SourceType(models.TextChoices):
    WORKFLOW = "workflow"
    PROMPT = "prompt"
    API_KEY = "api_key"
    AGENT = "agent"
    OTHER = "other"


class Status(models.TextChoices):
    SUCCESS = "success"
    FAILURE = "failure"


class ErrorType(models.TextChoices):
    TIMEOUT = "timeout"
    RATE_LIMIT = "rate_limit"
    LLM_ERROR = "llm_error"
    VALIDATION = "validation"
    SYSTEM = "system"
    NETWORK = "network"


class Trace(AccountOwned):
    """One request to a model. Written only by the ingestion service (COPY + ON CONFLICT)."""

    # No index on the account alone: the composite indexes below lead with it, and a lone
    # account index invites the planner, when statistics lag a bulk load, to read a whole
    # account's traces instead of a time range.
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+", db_index=False)
    request_id = models.CharField(max_length=128)
    executed_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    # PROTECT: removing a registry entry must never silently delete recorded traffic.
    model = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="+")
    model_type = models.CharField(max_length=16)
    provider = models.CharField(max_length=100, blank=True)
    deployment = models.ForeignKey(Deployment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    version = models.ForeignKey(DeploymentVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source_type = models.CharField(max_length=16, choices=SourceType.choices, default=SourceType.OTHER)
    source = models.CharField(max_length=200, blank=True)
    module = models.CharField(max_length=200, blank=True)
    feature = models.CharField(max_length=200, blank=True)
    prompt = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=100, blank=True)
    user_id = models.CharField(max_length=200, blank=True)
    session_id = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices)
    error_type = models.CharField(max_length=16, choices=ErrorType.choices, blank=True)
    http_status = models.SmallIntegerField(null=True, blank=True)
    response_time_ms = models.FloatField()
    ttft_ms = models.FloatField(null=True, blank=True)
    queue_time_ms = models.FloatField(null=True, blank=True)
    network_time_ms = models.FloatField(null=True, blank=True)
    input_tokens = models.IntegerField(default=0)
    output_tokens = models.IntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=24, decimal_places=12, null=True, blank=True)
    credits = models.DecimalField(max_digits=24, decimal_places=12, null=True, blank=True)
    cache_hit = models.BooleanField(null=True, blank=True)
    input = models.TextField(null=True, blank=True)
    output = models.TextField(null=True, blank=True)
    request_payload = models.JSONField(null=True, blank=True)
    response_payload = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)

    class Meta:
        # In the database the table is partitioned by month of executed_at and its primary key is
        # (id, executed_at) (migration 0006, docs/decisions/0005-trace-partitions.md). A unique
        # key must contain the partition key, so (account, request_id) is kept unique by
        # RequestId, and this index only finds a request id in each partition.
        indexes = [
            models.Index(fields=["account", "request_id"], name="trace_account_request"),
            models.Index("account", models.F("executed_at").desc(), models.F("id").desc(), name="trace_account_time"),
            # With id, so the explorer's keyset pages for one model walk the index in order.
            models.Index("account", "model", models.F("executed_at").desc(), models.F("id").desc(),
                         name="trace_account_model_time_id"),
        ]

    def __str__(self):
        return self.request_id

    def save(self, *args, **kwargs):
        """Ingest writes traces with SQL (traces/services/ingest.py); this is for the ORM's other
        writers (admin, tests). It keeps what ingest keeps: the month's partition exists, and a
        new trace takes its request id in RequestId — a taken one raises IntegrityError, as the
        unique key on the unpartitioned table did."""
        from traces.partitions import partitions_ensure

        partitions_ensure([self.executed_at])
        adding = self._state.adding
        with transaction.atomic(), connection.cursor() as cursor:
            if adding:
                cursor.execute("INSERT INTO traces_requestid (account_id, request_id, executed_at) VALUES (%s, %s, %s)",
                               [self.account_id, self.request_id, self.executed_at])
            else:
                cursor.execute("UPDATE traces_requestid SET executed_at = %s WHERE account_id = %s AND request_id = %s",
                               [self.executed_at, self.account_id, self.request_id])
            super().save(*args, **kwargs)


class RequestId(models.Model):
    """The request ids of an account's stored traces: what makes ingest idempotent on
    (account, request_id) now that traces_trace is partitioned by time.

    Ingest inserts here first (ON CONFLICT DO NOTHING RETURNING) and copies into traces_trace
    only the traces this accepted. In the database the table is hash-partitioned by account
    (migration 0006). executed_at lets retention delete the ids of expired traces."""

    pk = models.CompositePrimaryKey("account_id", "request_id")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+", db_index=False)
    request_id = models.CharField(max_length=128)
    executed_at = models.DateTimeField()

    class Meta:
        db_table = "traces_requestid"
        indexes = [models.Index(fields=["account", "executed_at"], name="requestid_account_time")]

    def __str__(self):
        return self.request_id


class Thumbs(models.TextChoices):
    UP = "up"
    DOWN = "down"


class Feedback(AccountOwned):
    """Quality signals for a request. Joined to its trace by request_id, so it may arrive first."""

    # The (account, request_id) unique index serves every lookup, including the rollups' join.
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+", db_index=False)
    request_id = models.CharField(max_length=128)
    rating = models.SmallIntegerField(null=True, blank=True)
    thumbs = models.CharField(max_length=4, choices=Thumbs.choices, blank=True)
    accepted = models.BooleanField(null=True, blank=True)
    edited = models.BooleanField(null=True, blank=True)
    regenerated = models.BooleanField(null=True, blank=True)
    task_success = models.BooleanField(null=True, blank=True)
    comment = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "request_id"], name="feedback_account_request_uniq")]

    def __str__(self):
        return f"feedback {self.request_id}"


class DirtyBucket(AccountOwned):
    """A UTC hour whose rollups must be recomputed. Written in the ingest transaction."""

    hour_start = models.DateTimeField()
    marked_at = models.DateTimeField(auto_now=True)
    first_at = models.DateTimeField(null=True, blank=True, help_text=(
        "The earliest executed_at ingested into the hour since its last rollup; empty: the whole hour. Readers "
        "take raw traces from there on instead of minute rollups."))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "hour_start"], name="dirty_bucket_uniq")]


class RedactionRule(AccountOwned):
    class Kind(models.TextChoices):
        EMAIL = "email"
        PHONE = "phone"
        CARD = "card"
        REGEX = "regex"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    pattern = models.CharField(max_length=500, blank=True, help_text="For kind 'regex' only.")
    replacement = models.CharField(max_length=100, blank=True, help_text="Default: [REDACTED:<kind>]")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.kind} {self.pattern}".strip()


class ExportJob(AccountOwned):
    """A background export of an explorer selection (X5), run by `traces.tasks.export_run_task`
    on the `exports` queue.

    Visible to its creator (user or API key) and to the account's admins and owners. The
    selection is resolved when the job is created (a preset such as "last 30 days" is fixed
    to instants), so the file holds what the user was looking at when they clicked Export.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSONL = "jsonl", "JSONL"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    api_key = models.ForeignKey("accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.CSV)
    params = models.JSONField(default=dict, help_text="The resolved selection: range, filters, search, column filters.")
    filename = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.BigIntegerField(null=True, blank=True)
    rows_written = models.BigIntegerField(default=0)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    file = models.CharField(max_length=500, blank=True, help_text="Path in the default storage; empty until done.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched with every progress write: a running job that stops moving lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Runs started: a run whose worker died is queued again, from scratch, up to EXPORT_MAX_ATTEMPTS.
    # Progress writes carry the run's number, so a run that was given up on cannot write over its successor.
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    expired = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="export_account_created"),
            models.Index(fields=["status", "expires_at"], name="export_status_expires"),
        ]

    def __str__(self):
        return f"export {self.pk} {self.filename} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class ExplorerPreference(AccountOwned):
    """What the trace explorer remembers per user and account (002): the last model
    selection and the hidden columns."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    selection = models.JSONField(default=dict, blank=True)
    hidden_columns = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "user"], name="explorer_pref_account_user_uniq")]

    def __str__(self):
        return f"explorer preferences of {self.user_id}"
