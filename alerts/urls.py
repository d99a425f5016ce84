from django.urls import path
from rest_framework.routers import SimpleRouter

from alerts import api, api_actions

router = SimpleRouter(trailing_slash=False)
router.register("alert-rules", api.AlertRuleViewSet, basename="alert-rule")
router.register("alert-actions", api_actions.RuleActionViewSet, basename="alert-action")
router.register("alert-events", api.AlertEventViewSet, basename="alert-event")
router.register("channels", api.ChannelViewSet, basename="alert-channel")
router.register("alert-deliveries", api.DeliveryViewSet, basename="alert-delivery")
router.register("notifications", api.NotificationViewSet, basename="notification")
router.register("custom-metrics", api.CustomMetricViewSet, basename="custom-metric")
router.register("slas", api.SlaViewSet, basename="sla")
router.register("report-schedules", api.ReportScheduleViewSet, basename="report-schedule")
router.register("report-runs", api.ReportRunViewSet, basename="report-run")

urlpatterns = [path("alert-metrics", api.AlertMetricsView.as_view(), name="alert-metrics"), *router.urls]
