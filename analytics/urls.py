from django.urls import path

from analytics import abtest_api, api, screens_api

urlpatterns = [
    path("metrics", api.MetricsView.as_view(), name="metrics"),
    path("metrics/timeseries", api.TimeseriesView.as_view(), name="metrics-timeseries"),
    path("metrics/breakdown", api.BreakdownView.as_view(), name="metrics-breakdown"),
    path("analytics/overview", screens_api.OverviewView.as_view(), name="analytics-overview"),
    path("analytics/performance", screens_api.PerformanceView.as_view(), name="analytics-performance"),
    path("analytics/performance/detail", screens_api.PerformanceDetailView.as_view(),
         name="analytics-performance-detail"),
    path("analytics/models", screens_api.ModelAnalyticsView.as_view(), name="analytics-models"),
    path("analytics/production", screens_api.ProductionView.as_view(), name="analytics-production"),
    path("analytics/compare", screens_api.CompareView.as_view(), name="analytics-compare"),
    path("analytics/ab-test", abtest_api.AbTestView.as_view(), name="analytics-ab-test"),
    path("analytics/cohorts", screens_api.CohortsView.as_view(), name="analytics-cohorts"),
    path("analytics/alerts", screens_api.AlertsView.as_view(), name="analytics-alerts"),
    path("analytics/usage", screens_api.UsageView.as_view(), name="analytics-usage"),
]
