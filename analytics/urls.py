from django.urls import path

from analytics import api

urlpatterns = [
    path("metrics", api.MetricsView.as_view(), name="metrics"),
    path("metrics/timeseries", api.TimeseriesView.as_view(), name="metrics-timeseries"),
    path("metrics/breakdown", api.BreakdownView.as_view(), name="metrics-breakdown"),
]
