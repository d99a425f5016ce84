"""Shapes of the explorer's responses, for the OpenAPI schema (the views render plain dicts)."""
from rest_framework import serializers


class TraceItemSerializer(serializers.Serializer):
    request_id = serializers.CharField()
    executed_at = serializers.DateTimeField()
    model = serializers.CharField()
    model_type = serializers.CharField(help_text="fine_tuned, open_source or external")
    provider = serializers.CharField()
    deployment = serializers.CharField(allow_null=True)
    version = serializers.CharField(allow_null=True)
    connection = serializers.CharField(allow_null=True)
    source_type = serializers.CharField()
    source = serializers.CharField()
    module = serializers.CharField()
    feature = serializers.CharField()
    prompt = serializers.CharField()
    prompt_version = serializers.CharField()
    user_id = serializers.CharField()
    session_id = serializers.CharField()
    status = serializers.CharField(help_text="success or failure")
    error_type = serializers.CharField()
    http_status = serializers.IntegerField(allow_null=True)
    response_time_ms = serializers.FloatField()
    ttft_ms = serializers.FloatField(allow_null=True)
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cost_usd = serializers.FloatField(allow_null=True)
    credits = serializers.FloatField(allow_null=True)
    cache_hit = serializers.BooleanField(allow_null=True)
    input = serializers.CharField(allow_null=True, help_text="At most 500 characters in lists; whole in the detail.")
    output = serializers.CharField(allow_null=True)
    input_truncated = serializers.BooleanField()
    output_truncated = serializers.BooleanField()


class TracePageSerializer(serializers.Serializer):
    results = TraceItemSerializer(many=True)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class FeedbackSerializer(serializers.Serializer):
    rating = serializers.IntegerField(allow_null=True)
    thumbs = serializers.CharField()
    accepted = serializers.BooleanField(allow_null=True)
    edited = serializers.BooleanField(allow_null=True)
    regenerated = serializers.BooleanField(allow_null=True)
    task_success = serializers.BooleanField(allow_null=True)
    comment = serializers.CharField()
    updated_at = serializers.DateTimeField()


class TraceDetailSerializer(TraceItemSerializer):
    input_truncated = None
    output_truncated = None
    queue_time_ms = serializers.FloatField(allow_null=True)
    network_time_ms = serializers.FloatField(allow_null=True)
    received_at = serializers.DateTimeField()
    base_model = serializers.CharField()
    deployment_deployed_at = serializers.DateTimeField(allow_null=True)
    connection_provider = serializers.CharField(allow_null=True)
    model_label = serializers.CharField(help_text="With the deployment version (hosted) or connection (external).")
    request_payload = serializers.JSONField(allow_null=True)
    response_payload = serializers.JSONField(allow_null=True)
    metadata = serializers.JSONField(allow_null=True)
    feedback = FeedbackSerializer(allow_null=True)


class SummaryMetricsSerializer(serializers.Serializer):
    total_requests = serializers.IntegerField()
    failed_requests = serializers.IntegerField()
    failure_rate = serializers.FloatField(help_text="Percent of requests that failed.")
    p90_response_time_ms = serializers.FloatField(allow_null=True)
    p99_response_time_ms = serializers.FloatField(allow_null=True)
    hosting_credits = serializers.FloatField(allow_null=True, help_text="null for external models")


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class SummarySerializer(serializers.Serializer):
    period = PeriodSerializer()
    preset = serializers.CharField(allow_null=True)
    filters = serializers.DictField()
    metrics = SummaryMetricsSerializer()
