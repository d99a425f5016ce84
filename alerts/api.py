"""Alerts API (L1–L3, L6): thin views over alerts.services. Members and up write; everyone reads."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Role
from accounts.params import bool_param, choice_param, int_param
from accounts.scoping import AccountScopedAPIView, AccountScopedViewSet
from alerts import models as am
from alerts import serializers as s
from alerts.services import rules as rule_services
from alerts.services import reports as report_services
from alerts.services import slas as sla_services
from alerts.services.delivery import delivery_retry
from alerts.services.evaluation import event_acknowledge, event_resolve, event_set_note
from alerts.services.metrics import BASE_METRICS, measure
from alerts.services.notify import notifications_for, notifications_mark_read
from analytics.params import selection_from_query
from analytics.selectors import FILTERS


def _choice_filter(request, name, choices):
    return choice_param(request.query_params, name, choices)


def _int_filter(request, name):
    return int_param(request.query_params, name)


class _CrudViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """Create, update and delete through a service taking (account, actor, ...)."""

    write_role = Role.MEMBER
    create_service = update_service = delete_service = None

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = type(self).create_service(self.account, self.actor, **serializer.validated_data)
        return Response(self.response_serializer(instance), status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        instance = type(self).update_service(self.account, self.actor, instance, **serializer.validated_data)
        return Response(self.get_serializer(instance).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk=None):
        type(self).delete_service(self.account, self.actor, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def response_serializer(self, instance):
        return self.get_serializer(instance).data


class ChannelViewSet(_CrudViewSet):
    """Notification channels (L3): in-app, e-mail, signed webhook, Slack, PagerDuty.

    Webhook bodies are signed: `X-Signature` is the hex HMAC-SHA256 of the body with the
    channel's secret, returned once on creation and on `rotate-secret`."""

    queryset = am.Channel.objects.all()
    serializer_class = s.ChannelSerializer
    create_service = rule_services.channel_create
    update_service = rule_services.channel_update
    delete_service = rule_services.channel_delete

    def filter_account_queryset(self, queryset):
        kind = _choice_filter(self.request, "type", am.ChannelKind.values)
        return queryset.filter(kind=kind) if kind else queryset

    @extend_schema(parameters=[OpenApiParameter("type", str, enum=am.ChannelKind.values)])
    def list(self, request, *args, **kwargs):
        rule_services.alerts_ensure_defaults(self.account)
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={201: s.ChannelSecretSerializer})
    def create(self, request):
        return super().create(request)

    def response_serializer(self, instance):
        return s.ChannelSecretSerializer(instance, context=self.get_serializer_context()).data

    @extend_schema(request=None, responses=s.ChannelSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        channel = rule_services.channel_rotate_secret(self.account, self.actor, self.get_object())
        return Response(self.response_serializer(channel))


class CustomMetricViewSet(_CrudViewSet):
    """Custom metrics (L6): named formulas over base metrics, e.g.
    `thumbs_up / (thumbs_up + thumbs_down) * 100`. Numbers, base metric names, + - * / and parentheses."""

    queryset = am.CustomMetric.objects.all()
    serializer_class = s.CustomMetricSerializer
    create_service = rule_services.custom_metric_create
    update_service = rule_services.custom_metric_update
    delete_service = rule_services.custom_metric_delete

    @extend_schema(responses=s.MetricValueSerializer, parameters=[
        OpenApiParameter("start", str, description="RFC 3339 timestamp or local date (default: 7 days before end)"),
        OpenApiParameter("end", str, description="RFC 3339 timestamp or local date, inclusive (default: now)"),
        *[OpenApiParameter(name, str) for name in FILTERS]])
    @action(detail=True, methods=["get"])
    def value(self, request, pk=None):
        """The metric's value over a selection, for dashboards' metric cards."""
        metric = self.get_object()
        sel = selection_from_query(self.account, request.query_params)
        m = measure(self.account, metric="", custom_metric=metric, filters=sel.filters, start=sel.start,
                    end=sel.end, min_requests=1)
        return Response({"metric": metric.name, "value": m.value, "total_requests": m.requests,
                         "period": {"start": sel.start.isoformat(), "end": sel.end.isoformat()},
                         "filters": sel.filters})


class AlertRuleViewSet(_CrudViewSet):
    """Alert rules (L1): metric over a window, condition and threshold, duration, severity, channels.

    Rules of kind `anomaly` are the account's anomaly detectors (L4): on by default, tunable
    (threshold, window, duration, minimum requests, severity, channels, mute), never deleted."""

    queryset = am.AlertRule.objects.select_related("custom_metric").prefetch_related("channels")
    serializer_class = s.AlertRuleSerializer
    create_service = rule_services.rule_create
    update_service = rule_services.rule_update
    delete_service = rule_services.rule_delete

    def filter_account_queryset(self, queryset):
        kind = _choice_filter(self.request, "kind", am.RuleKind.values)
        return queryset.filter(kind=kind) if kind else queryset

    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=am.RuleKind.values)])
    def list(self, request, *args, **kwargs):
        rule_services.alerts_ensure_defaults(self.account)
        return super().list(request, *args, **kwargs)


class AlertEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """Alert events (L2): firing → acknowledged → resolved, newest first, with the post-mortem note."""

    queryset = am.AlertEvent.objects.select_related("acknowledged_by", "resolved_by")
    serializer_class = s.AlertEventSerializer
    write_role = Role.MEMBER

    def filter_account_queryset(self, queryset):
        wanted = _choice_filter(self.request, "status", [*am.EventStatus.values, "open"])
        if wanted == "open":
            queryset = queryset.filter(status__in=am.OPEN_STATUSES)
        elif wanted:
            queryset = queryset.filter(status=wanted)
        severity = _choice_filter(self.request, "severity", am.Severity.values)
        if severity:
            queryset = queryset.filter(severity=severity)
        rule = _int_filter(self.request, "rule")
        return queryset.filter(rule_id=rule) if rule is not None else queryset

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=[*am.EventStatus.values, "open"]),
                               OpenApiParameter("severity", str, enum=am.Severity.values),
                               OpenApiParameter("rule", int)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=s.NoteSerializer, responses=s.AlertEventSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        event = self.get_object()
        data = s.NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = event_acknowledge(self.account, self.actor, event, data.validated_data.get("note", ""))
        return Response(self.get_serializer(event).data)

    @extend_schema(request=s.ResolveSerializer, responses=s.AlertEventSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        event = self.get_object()
        data = s.ResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = event_resolve(self.account, self.actor, event, data.validated_data["note"])
        return Response(self.get_serializer(event).data)

    @extend_schema(request=s.NoteSerializer, responses=s.AlertEventSerializer)
    @action(detail=True, methods=["post"])
    def note(self, request, pk=None):
        """Write or change the post-mortem note (also after resolution)."""
        event = self.get_object()
        data = s.NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = event_set_note(self.account, self.actor, event, data.validated_data.get("note", ""))
        return Response(self.get_serializer(event).data)


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """Every notification sent to a channel, with attempts and the last error; failed ones can be retried."""

    queryset = am.Delivery.objects.select_related("channel")
    serializer_class = s.DeliverySerializer
    write_role = Role.MEMBER

    def filter_account_queryset(self, queryset):
        wanted = _choice_filter(self.request, "status", am.DeliveryStatus.values)
        if wanted:
            queryset = queryset.filter(status=wanted)
        for name in ("channel", "event"):
            value = _int_filter(self.request, name)
            if value is not None:
                queryset = queryset.filter(**{f"{name}_id": value})
        return queryset

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=am.DeliveryStatus.values),
                               OpenApiParameter("channel", int), OpenApiParameter("event", int)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=s.DeliverySerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        delivery = delivery_retry(self.account, self.actor, self.get_object())
        return Response(self.get_serializer(delivery).data)


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """The account's in-app notifications (the console's bell), with `read_at` for the signed-in member.

    Marking read through the API needs the member role (viewers never write through the API);
    every role, viewers included, clears its bell in the console. API keys have no bell."""

    queryset = am.Notification.objects.all()
    serializer_class = s.NotificationSerializer
    write_role = Role.MEMBER

    def filter_account_queryset(self, queryset):
        user_id = getattr(self.request.user, "pk", None)
        queryset = notifications_for(queryset, user_id)
        if bool_param(self.request.query_params, "unread"):
            queryset = queryset.filter(read_at__isnull=True)
        return queryset

    @extend_schema(parameters=[OpenApiParameter("unread", bool)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=s.NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = self.get_object()
        notifications_mark_read(self.account, request.user, [notification.pk])
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=None, responses={200: dict})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        ids = list(self.get_queryset().filter(read_at__isnull=True).values_list("pk", flat=True))
        return Response({"marked_read": notifications_mark_read(self.account, request.user, ids)})


class SlaViewSet(_CrudViewSet):
    """SLAs (L5): availability, p95 latency and success-rate objectives per model or prompt over a rolling
    window; `status` gives the current status, the daily compliance history and the error budget."""

    queryset = am.Sla.objects.select_related("model")
    serializer_class = s.SlaSerializer
    create_service = sla_services.sla_create
    update_service = sla_services.sla_update
    delete_service = sla_services.sla_delete

    @extend_schema(responses=s.SlaStatusSerializer)
    @action(detail=True, methods=["get"], url_path="status")
    def status_report(self, request, pk=None):
        return Response(sla_services.sla_report(self.get_object()))


class ReportScheduleViewSet(_CrudViewSet):
    """Scheduled reports (L7): daily, weekly or monthly e-mails at a local hour; admins manage them (T2).
    `preview` renders the latest complete period; `send-now` mails it at once."""

    queryset = am.ReportSchedule.objects.all()
    serializer_class = s.ReportScheduleSerializer
    write_role = Role.ADMIN
    create_service = report_services.schedule_create
    update_service = report_services.schedule_update
    delete_service = report_services.schedule_delete

    @extend_schema(responses=s.ReportPreviewSerializer)
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        return Response(report_services.report_preview(self.get_object()))

    @extend_schema(request=None, responses=s.ReportRunSerializer)
    @action(detail=True, methods=["post"], url_path="send-now")
    def send_now(self, request, pk=None):
        run = report_services.report_send_now(self.account, self.actor, self.get_object())
        return Response(s.ReportRunSerializer(run).data)


class ReportRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """Every report sent, scheduled or by hand: period, recipients, status and error."""

    queryset = am.ReportRun.objects.select_related("schedule")
    serializer_class = s.ReportRunSerializer
    write_role = Role.ADMIN

    def filter_account_queryset(self, queryset):
        schedule = _int_filter(self.request, "schedule")
        return queryset.filter(schedule_id=schedule) if schedule is not None else queryset

    @extend_schema(parameters=[OpenApiParameter("schedule", int)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=s.ReportRunSerializer,
                   description="Retry now: queue a failed report at once, with a fresh set of attempts.")
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        run = report_services.report_run_retry(self.account, self.actor, self.get_object())
        return Response(self.get_serializer(run).data)


class AlertMetricsView(AccountScopedAPIView):
    """What rules can measure: the base metrics of the metrics layer and the account's custom metrics.

    A catalogue, answered whole as a plain list (not a page)."""

    serializer_class = s.MetricInfoSerializer
    pagination_class = None

    @extend_schema(responses=s.MetricInfoSerializer(many=True))
    def get(self, request):
        rows = [{"name": k, "label": v[0], "unit": v[1], "kind": "base"} for k, v in BASE_METRICS.items()]
        rows += [{"id": m.pk, "name": m.name, "label": m.label, "unit": m.unit, "kind": "custom", "formula": m.formula}
                 for m in am.CustomMetric.objects.for_account(self.account)]
        return Response(rows)

