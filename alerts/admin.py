"""Alerts in the operator's admin: configuration editable, history (events, deliveries,
notifications, report runs) read-only. Shared behaviour: accounts.admin_base."""
from django.contrib import admin

from accounts.admin_base import HistoryAdmin, OperatorAdmin
from alerts import models as m


@admin.register(m.Channel)
class ChannelAdmin(OperatorAdmin):
    list_display = ["name", "kind", "enabled", "account", "created_at", "updated_at"]
    list_filter = ["kind", "enabled", "account"]
    search_fields = ["name", "url", "account__slug"]
    list_select_related = ["account"]
    readonly_fields = ["secret"]


@admin.register(m.CustomMetric)
class CustomMetricAdmin(OperatorAdmin):
    list_display = ["name", "label", "formula", "unit", "account", "created_at"]
    list_filter = ["unit", "account"]
    search_fields = ["name", "label", "formula", "account__slug"]
    list_select_related = ["account"]


@admin.register(m.AlertRule)
class AlertRuleAdmin(OperatorAdmin):
    list_display = ["name", "account", "kind", "metric", "operator", "threshold", "severity", "muted",
                    "last_state", "last_evaluated_at"]
    list_filter = ["kind", "severity", "muted", "operator", "account"]
    search_fields = ["name", "metric", "description", "account__slug"]
    list_select_related = ["account"]
    raw_id_fields = ["custom_metric", "model", "deployment", "version", "connection", "created_by"]


@admin.register(m.RuleAction)
class RuleActionAdmin(OperatorAdmin):
    list_display = ["rule", "kind", "channel", "replicas", "on_fired", "on_resolved", "account"]
    list_filter = ["kind", "on_fired", "on_resolved", "account"]
    search_fields = ["rule__name", "account__slug"]
    raw_id_fields = ["rule", "channel", "deployment", "version", "model"]


@admin.register(m.AlertEvent)
class AlertEventAdmin(HistoryAdmin):
    list_display = ["fired_at", "rule_name", "account", "metric", "severity", "status", "value", "threshold",
                    "resolved_at"]
    list_filter = ["status", "severity", "account"]
    search_fields = ["rule_name", "metric", "note", "account__slug"]
    list_select_related = ["account"]
    date_hierarchy = "fired_at"


@admin.register(m.Delivery)
class DeliveryAdmin(HistoryAdmin):
    list_display = ["created_at", "channel_name", "channel_kind", "purpose", "transition", "status", "attempts",
                    "response_status", "delivered_at", "account"]
    list_filter = ["status", "channel_kind", "purpose", "transition", "account"]
    search_fields = ["channel_name", "last_error", "account__slug"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"


@admin.register(m.Notification)
class NotificationAdmin(HistoryAdmin):
    list_display = ["created_at", "title", "severity", "account"]
    list_filter = ["severity", "account"]
    search_fields = ["title", "body", "account__slug"]
    list_select_related = ["account"]


@admin.register(m.NotificationRead)
class NotificationReadAdmin(HistoryAdmin):
    list_display = ["read_at", "notification", "user", "account"]
    list_filter = ["account"]
    search_fields = ["user__email", "notification__title", "account__slug"]
    list_select_related = ["account", "notification", "user"]


@admin.register(m.Sla)
class SlaAdmin(OperatorAdmin):
    list_display = ["name", "objective", "target", "window_days", "model", "prompt", "account"]
    list_filter = ["objective", "account"]
    search_fields = ["name", "prompt", "account__slug"]
    raw_id_fields = ["model"]


@admin.register(m.ReportSchedule)
class ReportScheduleAdmin(OperatorAdmin):
    list_display = ["name", "frequency", "send_hour", "enabled", "recipients", "account", "created_at"]
    list_filter = ["frequency", "enabled", "account"]
    search_fields = ["name", "account__slug"]
    raw_id_fields = ["created_by"]


@admin.register(m.ReportRun)
class ReportRunAdmin(HistoryAdmin):
    list_display = ["created_at", "schedule", "kind", "period_start", "period_end", "status", "attempts",
                    "sent_at", "account"]
    list_filter = ["status", "kind", "account"]
    search_fields = ["subject", "error", "schedule__name", "account__slug"]
    list_select_related = ["schedule", "account"]
    date_hierarchy = "created_at"
