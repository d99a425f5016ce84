"""Console pages under /a/<account>/alerts/ (included from accounts/console_urls.py)."""
from django.urls import path

from alerts import views

urlpatterns = [
    path("", views.RulesView.as_view(), name="alerts"),
    path("rules/<int:pk>/", views.RuleEditView.as_view(), name="alerts-rule"),
    path("rules/<int:pk>/delete/", views.RuleDeleteView.as_view(), name="alerts-rule-delete"),
    path("events/", views.EventsView.as_view(), name="alerts-events"),
    path("events/<int:pk>/", views.EventView.as_view(), name="alerts-event"),
    path("channels/", views.ChannelsView.as_view(), name="alerts-channels"),
    path("channels/<int:pk>/", views.ChannelView.as_view(), name="alerts-channel"),
    path("channels/<int:pk>/delete/", views.ChannelDeleteView.as_view(), name="alerts-channel-delete"),
    path("deliveries/<int:pk>/retry/", views.DeliveryRetryView.as_view(), name="alerts-delivery-retry"),
    path("metrics/", views.CustomMetricsView.as_view(), name="alerts-metrics"),
    path("metrics/<int:pk>/delete/", views.CustomMetricDeleteView.as_view(), name="alerts-metric-delete"),
    path("slas/", views.SlasView.as_view(), name="alerts-slas"),
    path("slas/<int:pk>/", views.SlaView.as_view(), name="alerts-sla"),
    path("reports/", views.ReportsView.as_view(), name="alerts-reports"),
    path("reports/<int:pk>/", views.ReportView.as_view(), name="alerts-report"),
    path("reports/<int:pk>/preview/", views.ReportPreviewView.as_view(), name="alerts-report-preview"),
    path("notifications/", views.NotificationsView.as_view(), name="notifications"),
    path("notifications/<int:pk>/open/", views.NotificationOpenView.as_view(), name="notification-open"),
]
