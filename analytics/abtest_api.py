"""GET /api/v1/analytics/ab-test (D11): the A/B test results of the Quality dashboard."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from analytics.api import COMMON, MetricsBase
from analytics.params import selection_from_query
from analytics.screens.abtest import BY, ab_test
from config.replica_reads import replica_reads


class AbTestVariantSerializer(serializers.Serializer):
    variant = serializers.CharField()
    requests = serializers.IntegerField()
    successes = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True, help_text="Percent.")
    p50_latency_ms = serializers.FloatField(allow_null=True)
    p95_latency_ms = serializers.FloatField(allow_null=True)
    avg_latency_ms = serializers.FloatField(allow_null=True)
    cost_per_request_usd = serializers.FloatField(allow_null=True)
    total_cost_usd = serializers.FloatField()


class AbTestPairResultSerializer(serializers.Serializer):
    difference = serializers.FloatField(allow_null=True, help_text="b − a: percentage points, ms (means) or USD.")
    ci_low = serializers.FloatField(allow_null=True, help_text="95 % interval of the difference.")
    ci_high = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True)
    significant = serializers.BooleanField(help_text="p below the pair's α (Bonferroni-corrected).")
    better = serializers.CharField(allow_null=True, help_text="The better variant of the pair; null unless "
                                                               "significant.")
    u_statistic = serializers.FloatField(required=False, help_text="Latency: Mann–Whitney U of a.")


class AbTestPairMetricsSerializer(serializers.Serializer):
    success_rate = AbTestPairResultSerializer(required=False)
    latency_ms = AbTestPairResultSerializer(required=False)
    cost_per_request_usd = AbTestPairResultSerializer(required=False)


class AbTestPairSerializer(serializers.Serializer):
    a = serializers.CharField()
    b = serializers.CharField()
    alpha = serializers.FloatField()
    metrics = AbTestPairMetricsSerializer(help_text="Empty when a variant had no requests.")


class AbTestMetricSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    better = serializers.ChoiceField(choices=["higher", "lower"])
    unit = serializers.CharField()
    test = serializers.CharField()


class AbTestWinnersSerializer(serializers.Serializer):
    success_rate = serializers.CharField(allow_null=True)
    latency_ms = serializers.CharField(allow_null=True)
    cost_per_request_usd = serializers.CharField(allow_null=True)


class AbTestPeriodSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    preset = serializers.CharField(allow_null=True)


class AbTestSerializer(serializers.Serializer):
    period = AbTestPeriodSerializer()
    filters = serializers.DictField()
    as_of = serializers.DateTimeField()
    by = serializers.ChoiceField(choices=list(BY))
    confidence = serializers.FloatField()
    alpha = serializers.FloatField()
    correction = serializers.CharField()
    metrics = AbTestMetricSerializer(many=True)
    variants = AbTestVariantSerializer(many=True)
    comparisons = AbTestPairSerializer(many=True)
    winners = AbTestWinnersSerializer(help_text="Per metric, the variant significantly better than every other; "
                                          "else null.")


class AbTestView(MetricsBase):
    """Two or three prompts, prompt versions or versions of a deployment (`by=version` with
    `deployment`) over a range: success rate (two-proportion z-test), latency (Mann–Whitney U;
    interval on the difference of means by Welch) and cost per request (Welch's t-test), each
    pair's difference with a 95 % interval, and a winner only when significant. Counts and
    percentiles come from the rollups; the rank test and the variances from the range's raw
    traces, reduced in the database."""

    @extend_schema(operation_id="analytics_ab_test", responses=AbTestSerializer, parameters=[
        *COMMON, OpenApiParameter("by", str, enum=list(BY), description="default prompt"),
        OpenApiParameter("variants", str, required=True, description="2 or 3 values, comma-separated; the first "
                                                                     "is the control")])
    @replica_reads()
    def get(self, request):
        sel = selection_from_query(self.account, request.query_params)
        values = [v.strip() for v in (request.query_params.get("variants") or "").split(",") if v.strip()]
        if any("\x00" in v or len(v) > 200 for v in values):
            raise ValidationError({"variants": ["each is at most 200 characters without NUL"]})
        by = request.query_params.get("by") or "prompt"
        return Response(self.envelope(sel, **ab_test(sel, by, values)))
