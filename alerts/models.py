"""Alerts (L1–L7): rules, events, channels, deliveries, notifications, custom metrics, SLAs, reports.

Invariants kept by the database, so a double or concurrent evaluation cannot break them:
- one open (firing or acknowledged) event per rule;
- one delivery per (event, channel, transition, reminder number), one notification per (delivery, user);
- one scheduled report run per (schedule, period).
"""
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import AccountOwned
from models_registry.models import Connection, Deployment, DeploymentVersion, Model

IDENTIFIER = RegexValidator(r"^[a-z][a-z0-9_]{0,63}$", "lowercase letters, digits and _, starting with a letter")


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class Operator(models.TextChoices):
    GT = "gt", ">"
    GTE = "gte", "≥"
    LT = "lt", "<"
    LTE = "lte", "≤"


class RuleKind(models.TextChoices):
    THRESHOLD = "threshold", "Threshold"
    ANOMALY = "anomaly", "Anomaly detector"


class Baseline(models.TextChoices):
    NONE = "none", "Absolute threshold"
    WEEKLY = "weekly", "× baseline (same time, previous 4 weeks)"


class ChannelKind(models.TextChoices):
    IN_APP = "in_app", "In-app"
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"
    SLACK = "slack", "Slack"
    PAGERDUTY = "pagerduty", "PagerDuty"


class Channel(AccountOwned):
    """Where notifications go. Secrets (HMAC secret, PagerDuty routing key) never leave in list responses."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    enabled = models.BooleanField(default=True)
    recipients = ArrayField(models.EmailField(), default=list, blank=True, help_text="E-mail channels.")
    url = models.URLField(max_length=500, blank=True, help_text="Webhook, Slack and PagerDuty channels.")
    secret = models.CharField(max_length=128, blank=True, help_text="Webhook HMAC-SHA256 secret.")
    routing_key = models.CharField(max_length=128, blank=True, help_text="PagerDuty integration (routing) key.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="alert_channel_account_name_uniq")]

    def __str__(self):
        return self.name


class MetricUnit(models.TextChoices):
    PERCENT = "percent", "%"
    MS = "ms", "ms"
    USD = "usd", "USD"
    COUNT = "count", "count"
    NONE = "", "—"


class CustomMetric(AccountOwned):
    """A named formula over base metrics (L6), e.g. thumbs_up / (thumbs_up + thumbs_down) * 100."""

    name = models.CharField(max_length=64, validators=[IDENTIFIER])
    label = models.CharField(max_length=200)
    formula = models.CharField(max_length=500)
    unit = models.CharField(max_length=8, choices=MetricUnit.choices, blank=True, default="")
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="custom_metric_account_name_uniq")]

    def __str__(self):
        return self.label or self.name


SCOPE_TEXT_FIELDS = ("provider", "model_type", "source_type", "source", "module", "feature", "prompt",
                     "prompt_version")
SCOPE_OBJECT_FIELDS = ("model", "deployment", "version", "connection")


class AlertRule(AccountOwned):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=RuleKind.choices, default=RuleKind.THRESHOLD)
    detector = models.CharField(max_length=32, blank=True, help_text="Anomaly detectors: which one (L4).")
    metric = models.CharField(max_length=64, blank=True, help_text="A base metric; empty with a custom metric.")
    custom_metric = models.ForeignKey(CustomMetric, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="rules")
    # Scope: registry objects of the account, and trace dimensions by value. Empty: the whole account.
    model = models.ForeignKey(Model, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    deployment = models.ForeignKey(Deployment, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(DeploymentVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=100, blank=True)
    model_type = models.CharField(max_length=16, blank=True)
    source_type = models.CharField(max_length=16, blank=True)
    source = models.CharField(max_length=200, blank=True)
    module = models.CharField(max_length=200, blank=True)
    feature = models.CharField(max_length=200, blank=True)
    prompt = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=100, blank=True)
    # Condition: metric over the last `window_minutes` <operator> threshold (× baseline), for `duration_minutes`.
    operator = models.CharField(max_length=3, choices=Operator.choices, default=Operator.GT)
    threshold = models.FloatField()
    baseline = models.CharField(max_length=8, choices=Baseline.choices, default=Baseline.NONE)
    window_minutes = models.PositiveIntegerField(default=5, validators=[MinValueValidator(1), MaxValueValidator(1440)])
    duration_minutes = models.PositiveIntegerField(default=5, validators=[MaxValueValidator(1440)])
    min_requests = models.PositiveIntegerField(
        default=1, validators=[MaxValueValidator(1_000_000)],
        help_text="Fewer requests in the window than this: no data, the condition is not evaluated.")
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.WARNING)
    channels = models.ManyToManyField(Channel, blank=True, related_name="rules")
    muted = models.BooleanField(default=False, help_text="Still evaluated and recorded; nothing is sent.")
    renotify_minutes = models.PositiveIntegerField(null=True, blank=True,
                                                   validators=[MinValueValidator(1), MaxValueValidator(10080)])
    # Evaluation state, moved forward only under the row lock.
    next_check_at = models.DateTimeField(default=timezone.now)
    pending_since = models.DateTimeField(null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_state = models.CharField(max_length=12, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="alert_rule_account_name_uniq"),
            models.UniqueConstraint(fields=["account", "detector"], condition=~Q(detector=""),
                                    name="alert_rule_account_detector_uniq"),
            models.CheckConstraint(condition=(Q(metric="") & Q(custom_metric__isnull=False))
                                   | (~Q(metric="") & Q(custom_metric__isnull=True)),
                                   name="alert_rule_one_metric"),
        ]
        # The due scan crosses accounts by nature: the beat task asks "which rules are due".
        indexes = [models.Index(fields=["next_check_at"], name="alert_rule_due")]

    def __str__(self):
        return self.name

    def scope(self) -> dict:
        """The rule's scope as metrics-layer filters (registry objects by name)."""
        filters = {}
        for name in SCOPE_OBJECT_FIELDS:
            obj = getattr(self, name)
            if obj is not None:
                filters[name] = obj.version if name == "version" else obj.name
        for name in SCOPE_TEXT_FIELDS:
            if getattr(self, name):
                filters[name] = getattr(self, name)
        return filters


class EventStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


OPEN_STATUSES = (EventStatus.FIRING, EventStatus.ACKNOWLEDGED)


class AlertEvent(AccountOwned):
    """One incident of a rule: firing → acknowledged → resolved. Kept after the rule is deleted."""

    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    rule_name = models.CharField(max_length=200)
    metric = models.CharField(max_length=64)
    detector = models.CharField(max_length=32, blank=True)
    scope = models.JSONField(default=dict, blank=True)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    status = models.CharField(max_length=12, choices=EventStatus.choices, default=EventStatus.FIRING)
    operator = models.CharField(max_length=3, choices=Operator.choices)
    threshold = models.FloatField(help_text="The effective threshold when it fired (× baseline for detectors).")
    baseline_value = models.FloatField(null=True, blank=True)
    value = models.FloatField(help_text="The metric's value when the event fired.")
    last_value = models.FloatField(null=True, blank=True)
    started_at = models.DateTimeField(help_text="Since when the condition held.")
    fired_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolution = models.CharField(max_length=8, blank=True, help_text="auto or manual")
    note = models.TextField(blank=True, help_text="Post-mortem: cause and prevention.")
    last_notified_at = models.DateTimeField(null=True, blank=True)
    reminders = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "rule"], condition=Q(status__in=["firing", "acknowledged"]),
                                    name="alert_event_one_open_per_rule"),
        ]
        indexes = [models.Index(fields=["account", "-fired_at"], name="alert_event_account_fired")]

    def __str__(self):
        return f"{self.rule_name} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Transition(models.TextChoices):
    FIRED = "fired", "Fired"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    REMINDER = "reminder", "Still firing"
    TEST = "test", "Test"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class ActionKind(models.TextChoices):
    SCALE_UP = "scale_up", "Scale up"
    SCALE_DOWN = "scale_down", "Scale down"
    ROLLBACK = "rollback", "Roll back to the previous version"
    SWITCH_MODEL = "switch_model", "Switch to another model"


class RuleAction(AccountOwned):
    """What a rule asks an automation to do (L8): a signed action webhook to a webhook channel,
    once per configured transition. The product itself scales, rolls back or switches nothing."""

    rule = models.OneToOneField(AlertRule, on_delete=models.CASCADE, related_name="action")
    kind = models.CharField(max_length=16, choices=ActionKind.choices)
    # Deleting the channel removes the action: it could not be sent anywhere.
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="actions",
                                help_text="A webhook channel: its URL receives the action, signed with its secret.")
    deployment = models.ForeignKey(Deployment, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                   help_text="The deployment to scale, roll back or switch.")
    version = models.ForeignKey(DeploymentVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                help_text="Roll back: this version; empty: the version before the running one.")
    model = models.ForeignKey(Model, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                              help_text="Switch: the model to switch to.")
    replicas = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(1000)],
                                           help_text="Scale: replicas to add or remove.")
    on_fired = models.BooleanField(default=True, help_text="Send when the rule fires.")
    on_resolved = models.BooleanField(default=False, help_text="Send when the event resolves.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.rule.name}: {self.get_kind_display()}"


class DeliveryPurpose(models.TextChoices):
    NOTIFICATION = "notification", "Notification"
    ACTION = "action", "Action"


class Delivery(AccountOwned):
    """One notification of one transition to one channel; retried with backoff until delivered or failed.
    History outlives the channel: deleting a channel empties `channel` and keeps the name and
    kind it had, so an event's timeline still says what was sent where. An action delivery
    carries the action webhook's body, fixed when the transition happened."""

    event = models.ForeignKey(AlertEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries")
    channel_name = models.CharField(max_length=100, blank=True, help_text="The channel's name when sent.")
    channel_kind = models.CharField(max_length=16, choices=ChannelKind.choices, blank=True,
                                    help_text="The channel's kind when sent.")
    purpose = models.CharField(max_length=12, choices=DeliveryPurpose.choices, default=DeliveryPurpose.NOTIFICATION)
    payload = models.JSONField(null=True, blank=True, help_text="Action deliveries: the body sent.")
    transition = models.CharField(max_length=12, choices=Transition.choices)
    sequence = models.PositiveIntegerField(default=0, help_text="Reminder number; 0 otherwise.")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "event", "channel", "transition", "sequence", "purpose"],
                                    name="alert_delivery_once"),
        ]
        indexes = [models.Index(fields=["account", "status", "-created_at"], name="alert_delivery_account_status")]

    def __str__(self):
        return f"{self.transition} → {self.channel} ({self.status})"


class Notification(AccountOwned):
    """An in-app notification (the console's bell), for every member of the account."""

    event = models.ForeignKey(AlertEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.INFO)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["account", "delivery"], name="notification_once")]
        indexes = [models.Index(fields=["account", "-created_at"], name="notification_account_created")]

    def __str__(self):
        return self.title


class NotificationRead(AccountOwned):
    """That one member has read (or dismissed) one notification."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "notification", "user"],
                                               name="notification_read_once")]


class SlaObjective(models.TextChoices):
    AVAILABILITY = "availability", "Availability"
    LATENCY_P95 = "latency_p95", "p95 latency"
    SUCCESS_RATE = "success_rate", "Success rate"


class Sla(AccountOwned):
    """A service level objective over a rolling window (L5)."""

    name = models.CharField(max_length=200)
    objective = models.CharField(max_length=16, choices=SlaObjective.choices)
    target = models.FloatField(help_text="Percent for availability and success rate; milliseconds for p95 latency.")
    model = models.ForeignKey(Model, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    prompt = models.CharField(max_length=200, blank=True)
    window_days = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1), MaxValueValidator(90)])
    down_error_rate = models.FloatField(
        default=50.0, validators=[MinValueValidator(0.01), MaxValueValidator(100)],
        help_text="Availability: a minute is down when at least this percentage of its requests failed.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="sla_account_name_uniq")]

    def __str__(self):
        return self.name


class ReportFrequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class ReportSchedule(AccountOwned):
    """A scheduled e-mail report (L7): sent after each local day, ISO week or month ends, at `send_hour`."""

    name = models.CharField(max_length=200)
    frequency = models.CharField(max_length=8, choices=ReportFrequency.choices)
    recipients = ArrayField(models.EmailField(), help_text="E-mail addresses.")
    send_hour = models.PositiveSmallIntegerField(default=8, validators=[MaxValueValidator(23)],
                                                 help_text="Local hour of the account's timezone.")
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="report_account_name_uniq")]

    def __str__(self):
        return self.name


class ReportRun(AccountOwned):
    class Kind(models.TextChoices):
        SCHEDULED = "scheduled"
        MANUAL = "manual"

    class Status(models.TextChoices):
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    schedule = models.ForeignKey(ReportSchedule, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SCHEDULED)
    period_start = models.DateField()
    period_end = models.DateField(help_text="Exclusive.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.SENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # Sending: when it was (last) queued. Failed: when it is tried again; empty once given up.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    recipients = ArrayField(models.EmailField(), default=list)
    subject = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "schedule", "period_start"], condition=Q(kind="scheduled"),
                                    name="report_run_once_per_period"),
        ]

    def __str__(self):
        return f"{self.schedule} {self.period_start}"
