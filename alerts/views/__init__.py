"""Console pages for alerts: rules, events (acknowledge / resolve with a post-mortem), channels and
their failed deliveries, custom metrics, SLAs, scheduled reports, notifications (the bell).

Thin: forms parse, alerts.services write (and audit), templates render. Members write rules,
channels, metrics and SLAs and act on events; admins manage reports (T2); every role may
clear its own notifications.
"""
from alerts.views.channels import ChannelDeleteView, ChannelsView, ChannelView, DeliveryRetryView
from alerts.views.events import EventsView, EventView
from alerts.views.notifications import NotificationOpenView, NotificationsView
from alerts.views.reports import ReportPreviewView, ReportsView, ReportView
from alerts.views.rules import CustomMetricDeleteView, CustomMetricsView, RuleDeleteView, RuleEditView, RulesView
from alerts.views.slas import SlasView, SlaView

__all__ = ["ChannelDeleteView", "ChannelsView", "ChannelView", "DeliveryRetryView", "EventsView", "EventView",
           "NotificationOpenView", "NotificationsView", "ReportPreviewView", "ReportsView", "ReportView",
           "CustomMetricDeleteView", "CustomMetricsView", "RuleDeleteView", "RuleEditView", "RulesView", "SlasView",
           "SlaView"]
