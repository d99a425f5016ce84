"""Ingestion endpoints: thin — read the body within limits, call the service, render."""
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from accounts.authentication import ApiKeyAuthentication, CsrfSessionAuthentication
from accounts.errors import ApplicationError
from accounts.json_io import SURROGATE_REASON, lone_surrogate_path
from accounts.models import Role
from accounts.scoping import AccountScopedAPIView, AccountScopedViewSet
from accounts.services import audit_record
from traces.models import RedactionRule
from traces.services.redaction import compile_pattern, redaction_rule_create, redaction_rule_delete
from traces.otlp import decode as otlp_decode
from traces.otlp.auth import BasicApiKeyAuthentication
from traces.otlp.mapping import export_request_items
from traces.ratelimit import check_rate
from config.metrics import count_ingest
from traces.services import feedback_record, trace_ingest_batch
from traces.services import events
from traces.services.reconnect import (
    RETRY_AFTER_SECONDS, DatabaseUnavailable, connection_dropped, once_more_on_dropped_connection,
)
from traces.services.body import batch_items, decode_json_body, read_limited_body
from traces.services.validation import ItemError

ERROR_ITEM = inline_serializer("IngestError", {
    "index": serializers.IntegerField(), "request_id": serializers.CharField(allow_null=True),
    "field": serializers.CharField(), "message": serializers.CharField(),
})
INGEST_RESULT = inline_serializer("IngestResult", {
    "accepted": serializers.IntegerField(), "duplicates": serializers.IntegerField(),
    "errors": ERROR_ITEM.__class__(many=True),
})
# One batch is one transaction, idempotent by request id: safe to run again on a new connection.
ingest_batch = once_more_on_dropped_connection(trace_ingest_batch)
ERROR_BODY = inline_serializer("ErrorBody", {"message": serializers.CharField(), "errors": serializers.DictField()})


class IngestView(AccountScopedAPIView):
    """Base for ingestion: `ingest` scope for keys, members and up for console sessions,
    and a per-key (or per-user) request rate limit."""

    api_key_scopes = {"write": "ingest"}
    write_role = Role.MEMBER
    rate_limited = True  # the schema lists 429
    retries_dropped_connection = True  # and 503

    def initial(self, request, *args, **kwargs):
        # Authentication only reads: a connection that died since the last request is retried.
        once_more_on_dropped_connection(super().initial)(request, *args, **kwargs)
        who = f"key:{self.api_key.prefix}" if self.api_key else f"user:{request.user.pk}"
        wait = check_rate(who, settings.INGEST_RATE_LIMIT_PER_MINUTE)
        if wait is not None:
            raise RateLimited(wait)

    def handle_exception(self, exc):
        if isinstance(exc, RateLimited):
            return Response({"message": "Rate limit exceeded; retry later.", "errors": {}},
                            status=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(exc.wait)})
        if isinstance(exc, DatabaseUnavailable) or (
                isinstance(exc, (OperationalError, InterfaceError)) and connection_dropped(exc)):
            return Response({"message": "The database connection was lost; nothing was stored. Retry shortly.",
                             "errors": {}}, status=status.HTTP_503_SERVICE_UNAVAILABLE,
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        return super().handle_exception(exc)


class RateLimited(Exception):
    def __init__(self, wait):
        self.wait = wait


class TraceIngestView(IngestView):
    @extend_schema(
        operation_id="traces_ingest",
        request=inline_serializer("IngestBody", {"traces": serializers.ListField(child=serializers.DictField())}),
        responses={200: INGEST_RESULT, 207: INGEST_RESULT, 400: ERROR_BODY, 413: ERROR_BODY,
                   429: OpenApiResponse(ERROR_BODY, description="Rate limited; see Retry-After")},
        description="Store a batch of at most 1000 traces (10 MiB). Each item is validated on its own; "
                    "re-sent request_ids are counted as duplicates. 207 when some items failed.",
    )
    def post(self, request):
        items = batch_items(decode_json_body(read_limited_body(request)), "traces")
        result = ingest_batch(self.account, items)
        count_ingest(request.path, result)
        return Response(result.as_dict(), status=207 if result.errors else 200)


class FeedbackView(IngestView):
    @extend_schema(
        operation_id="feedback_record",
        request=inline_serializer("FeedbackBody", {
            "request_id": serializers.CharField(), "rating": serializers.IntegerField(required=False),
            "thumbs": serializers.ChoiceField(["up", "down"], required=False),
            "accepted": serializers.BooleanField(required=False), "edited": serializers.BooleanField(required=False),
            "regenerated": serializers.BooleanField(required=False),
            "task_success": serializers.BooleanField(required=False), "comment": serializers.CharField(required=False),
        }),
        responses={200: OpenApiResponse(description="replaced"), 201: OpenApiResponse(description="created"),
                   400: ERROR_BODY},
        description="Attach feedback to a request. Sending it again replaces it; it may arrive before the trace.",
    )
    def post(self, request):
        document = decode_json_body(read_limited_body(request, limit=256 * 1024))
        field = lone_surrogate_path(document)
        if field is not None:
            raise ApplicationError(f"{field}: {SURROGATE_REASON}", {field: [SURROGATE_REASON]})
        try:
            stored, created = feedback_record(self.account, document)
        except ItemError as exc:
            raise ApplicationError(f"{exc.field or 'body'}: {exc.message}", {exc.field or "body": [exc.message]})
        return Response(stored, status=201 if created else 200)


class RedactionRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = RedactionRule
        fields = ["id", "kind", "pattern", "replacement", "enabled", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        pattern = attrs.get("pattern", getattr(self.instance, "pattern", ""))
        try:
            compile_pattern(kind, pattern)
        except ApplicationError as exc:
            raise serializers.ValidationError(exc.errors)
        return attrs


class RedactionRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                           mixins.UpdateModelMixin, mixins.DestroyModelMixin, AccountScopedViewSet):
    """Redaction rules (I7), applied to input/output text before storage. Admins write."""

    queryset = RedactionRule.objects.all()
    serializer_class = RedactionRuleSerializer

    def perform_create(self, serializer):
        serializer.instance = redaction_rule_create(self.account, self.actor, **serializer.validated_data)

    def perform_update(self, serializer):
        rule = serializer.save()
        audit_record(self.account, self.actor, "redaction_rule.changed", rule, kind=rule.kind, pattern=rule.pattern,
                     enabled=rule.enabled)

    def perform_destroy(self, instance):
        redaction_rule_delete(self.account, self.actor, instance)


class OtlpTraceView(IngestView):
    """OTLP/HTTP traces (I2): point an exporter at `<base>/api/v1/otlp`."""

    # Bearer as everywhere, and Basic for exporters that only speak Basic (traces/otlp/auth.py).
    authentication_classes = [ApiKeyAuthentication, BasicApiKeyAuthentication, CsrfSessionAuthentication]

    @extend_schema(
        operation_id="otlp_traces_export",
        request={"application/x-protobuf": bytes, "application/json": dict},
        responses={200: OpenApiResponse(description="ExportTraceServiceResponse (protobuf or JSON, as sent); "
                                                    "partial_success counts the model-call spans not stored, "
                                                    "and says why"),
                   400: ERROR_BODY, 413: ERROR_BODY, 415: ERROR_BODY},
        description="OpenTelemetry spans of model calls become traces: OpenTelemetry GenAI (gen_ai.*), "
                    "OpenInference (openinference.span.kind LLM) and Langfuse (langfuse.observation.type "
                    "generation). Other spans are skipped. Content-Encoding gzip is accepted.",
    )
    def post(self, request):
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type not in (otlp_decode.PROTOBUF, otlp_decode.JSON):
            raise ApplicationError("Send application/x-protobuf or application/json.",
                                   {"Content-Type": [f"unsupported: {content_type[:80]}"]}, status=415)
        body = read_limited_body(request)
        if request.headers.get("Content-Encoding", "").lower() == "gzip":
            body = otlp_decode.gunzip_limited(body)
        message = otlp_decode.decode_export_request(body, content_type)
        items, skipped = export_request_items(message)
        errors = []
        for start in range(0, len(items), 1000):
            result = ingest_batch(self.account, items[start:start + 1000])
            count_ingest(request.path, result)
            errors += result.errors
        response = ExportTraceServiceResponse()
        note = otlp_decode.partial_success_message(errors, skipped)
        if errors:
            response.partial_success.rejected_spans = len(errors)
        if note:
            # Skipped spans are not errors: OTLP carries such a note with rejected_spans = 0.
            response.partial_success.error_message = note
        return HttpResponse(otlp_decode.encode_response(response, content_type), content_type=content_type)


class LangfuseOtlpTraceView(OtlpTraceView):
    """The Langfuse SDK's export path: `LANGFUSE_BASE_URL=<base>` and an API key as the secret."""

    authentication_classes = [BasicApiKeyAuthentication, ApiKeyAuthentication, CsrfSessionAuthentication]

    @extend_schema(
        operation_id="langfuse_otel_traces_export",
        request={"application/x-protobuf": bytes, "application/json": dict},
        responses={200: OpenApiResponse(description="ExportTraceServiceResponse, as for /api/v1/otlp/v1/traces"),
                   400: ERROR_BODY, 413: ERROR_BODY, 415: ERROR_BODY},
        description="The same OTLP export at the path the Langfuse SDK (v3+) sends to, so a team moves "
                    "by pointing LANGFUSE_BASE_URL here. Authorization: Basic base64(any:<api key>).",
    )
    def post(self, request):
        return super().post(request)


def _events_view(service, key, name, summary):
    class EventsView(IngestView):
        @extend_schema(
            operation_id=f"events_{name}",
            request=inline_serializer(f"{name.title().replace('_', '')}EventsBody",
                                      {key: serializers.ListField(child=serializers.DictField())}),
            responses={200: INGEST_RESULT, 207: INGEST_RESULT, 400: ERROR_BODY, 413: ERROR_BODY},
            description=summary,
        )
        def post(self, request):
            items = batch_items(decode_json_body(read_limited_body(request)), key)
            result = service(self.account, items)
            return Response(result.as_dict(), status=207 if result.errors else 200)

    EventsView.__name__ = EventsView.__qualname__ = f"{name.title().replace('_', '')}EventsView"
    return EventsView


ReplicaEventsView = _events_view(
    events.replica_events_ingest, "events", "replicas",
    "Replica scaling events: {model, deployment, version?, at, replicas, hardware}. Re-sent events are duplicates.")
DeploymentEventsView = _events_view(
    events.deployment_events_ingest, "events", "deployments",
    "Deployment lifecycle: {model, deployment, event: deployed|undeployed|version, at, version?, hardware?, "
    "max_replicas?}.")
FineTuneJobEventsView = _events_view(
    events.fine_tune_jobs_ingest, "jobs", "fine_tuning_jobs",
    "Fine-tuning jobs, upserted by external_id: {external_id, model, started_at, status, finished_at?, credits}.")
CreditChargeEventsView = _events_view(
    events.credit_charges_ingest, "charges", "credit_charges",
    "Credit charges, idempotent on external_id: {external_id, kind, credits, at, model?, deployment?, description?}.")
