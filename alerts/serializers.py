"""Serializers of the alerts API: shape and field checks only; the rules live in alerts.services."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers_base import AccountRelatedField
from alerts import models as am
from alerts.services.metrics import BASE_METRICS
from models_registry.models import Connection, Deployment, DeploymentVersion, Model


class ChannelSerializer(serializers.ModelSerializer):
    type = serializers.ChoiceField(source="kind", choices=am.ChannelKind.choices,
                                   help_text="in_app, email, webhook, slack or pagerduty; fixed once created.")
    routing_key = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=128,
                                        help_text="PagerDuty integration key (write-only).")
    has_secret = serializers.SerializerMethodField(help_text="Webhook channels sign every body with a secret.")
    failed_deliveries = serializers.SerializerMethodField()

    class Meta:
        model = am.Channel
        fields = ["id", "name", "type", "enabled", "recipients", "url", "routing_key", "has_secret",
                  "failed_deliveries", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_has_secret(self, obj):
        return bool(obj.secret)

    @extend_schema_field(OpenApiTypes.INT)
    def get_failed_deliveries(self, obj):
        return obj.deliveries.filter(status=am.DeliveryStatus.FAILED).count()


class ChannelSecretSerializer(ChannelSerializer):
    secret = serializers.CharField(read_only=True, help_text="The HMAC-SHA256 secret; shown on creation and "
                                                            "rotation only.")

    class Meta(ChannelSerializer.Meta):
        fields = [*ChannelSerializer.Meta.fields, "secret"]


class CustomMetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = am.CustomMetric
        fields = ["id", "name", "label", "formula", "unit", "description", "created_at"]
        read_only_fields = ["created_at"]
        extra_kwargs = {"label": {"required": False}}


class AlertRuleSerializer(serializers.ModelSerializer):
    metric = serializers.CharField(required=False, allow_blank=True, max_length=64,
                                   help_text="A base metric (GET /api/v1/alert-metrics); or give custom_metric.")
    custom_metric = AccountRelatedField(queryset=am.CustomMetric.objects.all(), required=False, allow_null=True)
    model = AccountRelatedField(queryset=Model.objects.all(), required=False, allow_null=True)
    deployment = AccountRelatedField(queryset=Deployment.objects.all(), required=False, allow_null=True)
    version = AccountRelatedField(queryset=DeploymentVersion.objects.all(), required=False, allow_null=True)
    connection = AccountRelatedField(queryset=Connection.objects.all(), required=False, allow_null=True)
    channels = AccountRelatedField(queryset=am.Channel.objects.all(), many=True, required=False,
                                   help_text="Channel ids; default: the in-app channel.")
    kind = serializers.CharField(read_only=True, help_text="threshold, or anomaly for the account's detectors")
    open_event = serializers.SerializerMethodField()

    class Meta:
        model = am.AlertRule
        fields = ["id", "name", "description", "kind", "detector", "metric", "custom_metric",
                  *am.SCOPE_OBJECT_FIELDS, *am.SCOPE_TEXT_FIELDS, "operator", "threshold", "baseline",
                  "window_minutes", "duration_minutes", "min_requests", "severity", "channels", "muted",
                  "renotify_minutes", "last_state", "last_value", "last_evaluated_at", "pending_since",
                  "open_event", "created_at", "updated_at"]
        read_only_fields = ["kind", "detector", "last_state", "last_value", "last_evaluated_at", "pending_since",
                            "created_at", "updated_at"]

    def validate_metric(self, value):
        if value and value not in BASE_METRICS:
            raise serializers.ValidationError(f"'{value[:64]}' is not a base metric; see GET /api/v1/alert-metrics")
        return value

    def validate_threshold(self, value):
        if value != value or value in (float("inf"), float("-inf")):
            raise serializers.ValidationError("must be a finite number")
        return value

    @extend_schema_field(serializers.IntegerField(allow_null=True, help_text="The firing or acknowledged event; "
                                                                           "null when none is open."))
    def get_open_event(self, obj):
        event = obj.events.filter(status__in=am.OPEN_STATUSES).only("pk").first()
        return event.pk if event else None


class AlertEventSerializer(serializers.ModelSerializer):
    acknowledged_by = serializers.EmailField(source="acknowledged_by.email", read_only=True, default=None,
                                             allow_null=True)
    resolved_by = serializers.EmailField(source="resolved_by.email", read_only=True, default=None, allow_null=True)

    class Meta:
        model = am.AlertEvent
        fields = ["id", "rule", "rule_name", "metric", "detector", "scope", "severity", "status", "operator",
                  "threshold", "baseline_value", "value", "last_value", "started_at", "fired_at", "acknowledged_at",
                  "acknowledged_by", "resolved_at", "resolved_by", "resolution", "note", "reminders"]
        read_only_fields = fields


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=20_000,
                                 help_text="Post-mortem: cause and prevention.")


class ResolveSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=20_000, help_text="Post-mortem: cause and prevention (required).")


class DeliverySerializer(serializers.ModelSerializer):
    """`channel` is null once the channel is deleted; `channel_name`/`channel_kind` are as it was when sent."""

    class Meta:
        model = am.Delivery
        fields = ["id", "event", "channel", "channel_name", "channel_kind", "purpose", "transition", "sequence",
                  "status", "attempts", "last_error", "response_status", "next_attempt_at", "delivered_at", "payload",
                  "created_at"]
        read_only_fields = fields


class NotificationSerializer(serializers.ModelSerializer):
    read_at = serializers.DateTimeField(read_only=True, allow_null=True,
                                        help_text="When the signed-in member read it; null while unread.")

    class Meta:
        model = am.Notification
        fields = ["id", "event", "title", "body", "severity", "created_at", "read_at"]
        read_only_fields = fields


class MetricInfoSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField()
    kind = serializers.CharField(help_text="base or custom")
    formula = serializers.CharField(required=False)
    id = serializers.IntegerField(required=False)


class MetricValueSerializer(serializers.Serializer):
    metric = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    total_requests = serializers.IntegerField()
    period = serializers.DictField()
    filters = serializers.DictField()


class SlaSerializer(serializers.ModelSerializer):
    model = AccountRelatedField(queryset=Model.objects.all(), required=False, allow_null=True)

    class Meta:
        model = am.Sla
        fields = ["id", "name", "objective", "target", "model", "prompt", "window_days", "down_error_rate",
                  "created_at"]
        read_only_fields = ["created_at"]
        extra_kwargs = {"target": {"help_text": "Percent (availability, success rate) or milliseconds (p95)."}}

    def validate_target(self, value):
        if value != value or value in (float("inf"), float("-inf")):
            raise serializers.ValidationError("must be a finite number")
        return value


class SlaDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    requests = serializers.IntegerField()
    value = serializers.FloatField(allow_null=True)
    met = serializers.BooleanField(allow_null=True)


class SlaStatusSerializer(serializers.Serializer):
    sla = serializers.IntegerField()
    name = serializers.CharField()
    objective = serializers.CharField()
    target = serializers.FloatField()
    window_days = serializers.IntegerField()
    period = serializers.DictField()
    total_requests = serializers.IntegerField()
    value = serializers.FloatField(allow_null=True, help_text="Availability %, success rate % or p95 ms.")
    unit = serializers.CharField()
    status = serializers.CharField(help_text="meeting, violating or no_data")
    budget_unit = serializers.CharField(help_text="minutes (availability) or requests")
    budget_total = serializers.FloatField()
    budget_used = serializers.FloatField()
    budget_remaining = serializers.FloatField()
    budget_remaining_pct = serializers.FloatField(allow_null=True)
    downtime_minutes = serializers.IntegerField(required=False, help_text="Availability: minutes judged down.")
    traffic_minutes = serializers.IntegerField(
        required=False, help_text="Availability: minutes of the window with at least one request, the only minutes "
                                  "judged; the budget is (100 − target)% of them.")
    window_minutes = serializers.IntegerField(required=False, help_text="Availability: minutes in the window.")
    compliance_pct = serializers.FloatField(allow_null=True, help_text="Share of the window's days that complied.")
    history = SlaDaySerializer(many=True)


class ReportScheduleSerializer(serializers.ModelSerializer):
    recipients = serializers.ListField(child=serializers.EmailField(), min_length=1, max_length=50)

    class Meta:
        model = am.ReportSchedule
        fields = ["id", "name", "frequency", "recipients", "send_hour", "enabled", "created_at"]
        read_only_fields = ["created_at"]
        extra_kwargs = {"send_hour": {"help_text": "Local hour (0–23) in the account's timezone."}}


class ReportRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = am.ReportRun
        fields = ["id", "schedule", "kind", "period_start", "period_end", "status", "attempts", "error",
                  "next_attempt_at", "recipients", "subject", "created_at", "sent_at"]
        extra_kwargs = {"next_attempt_at": {"help_text": "Failed: when it is tried again (null once given up). "
                                                         "Sending: when it was queued."}}
        read_only_fields = fields


class ReportPreviewSerializer(serializers.Serializer):
    subject = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="Exclusive.")
    html = serializers.CharField(help_text="The HTML part, with the charts as data: URIs.")
    text = serializers.CharField(help_text="The plain-text part.")
