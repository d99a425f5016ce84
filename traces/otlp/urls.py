"""Paths other tools' SDKs send to, outside /api/v1 (mounted at /api/public/ by config/urls.py)."""
from django.urls import path

from traces import api

urlpatterns = [
    path("otel/v1/traces", api.LangfuseOtlpTraceView.as_view(), name="langfuse-otel-traces"),
]
