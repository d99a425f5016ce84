"""Export endpoints (X5): create (202), status, cancel, download — each reader sees only the
jobs they may (traces.exports.selectors)."""
import json

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, renderers, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.reverse import reverse

from accounts.errors import ApplicationError
from accounts.models import Role
from accounts.json_io import SafeJSONRenderer
from accounts.scoping import AccountScopedViewSet
from traces.exports import services
from traces.exports.selectors import export_creator_label, export_jobs_visible, export_progress
from traces.models import ExportJob

ERROR_BODY = inline_serializer("ExportError", {"message": serializers.CharField(), "errors": serializers.DictField()})
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


class ExportJobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField(help_text="Percent written; null until the total is known.")
    created_by = serializers.SerializerMethodField()
    filters = serializers.JSONField(source="params", read_only=True,
                                    help_text="The selection as resolved when the job was created.")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = ["id", "status", "format", "filename", "rows_written", "rows_total", "progress", "size_bytes",
                  "error", "filters", "created_by", "created_at", "started_at", "finished_at", "expires_at",
                  "expired", "download_url"]
        read_only_fields = fields

    def get_progress(self, job) -> int | None:
        return export_progress(job)

    def get_created_by(self, job) -> str:
        return export_creator_label(job)

    def get_download_url(self, job) -> str | None:
        if job.status != ExportJob.Status.SUCCEEDED or job.expired:
            return None
        return reverse("export-download", kwargs={"pk": job.pk}, request=self.context.get("request"))


class ExportCreateSerializer(serializers.Serializer):
    format = serializers.ChoiceField(["csv", "jsonl"], default="csv")
    filters = serializers.DictField(required=False, help_text=(
        "The list's query parameters: preset or start/end, the metrics filters, status, search, sort, and "
        "`filter` as a list of column filter steps (see GET /api/v1/traces)."))


class DownloadRenderer(renderers.BaseRenderer):
    """Lets any Accept header reach the download; errors still go out as JSON."""

    media_type = "*/*"
    format = "download"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        # Only errors are rendered here (the file is a FileResponse): they are JSON, so say so.
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return json.dumps(data).encode()


class ExportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """Export jobs: visible to the user or key that created them, and to the account's admins."""

    queryset = ExportJob.objects.all()
    serializer_class = ExportJobSerializer
    # Exports read data: keys with `read` may start and cancel them; members and up in the console.
    api_key_scopes = {"read": "read", "write": "read"}
    write_role = Role.MEMBER

    def filter_account_queryset(self, queryset):
        visible = export_jobs_visible(self.account, user=self.request.user, key=self.api_key,
                                      role=self.membership.role if self.membership else None)
        return queryset.filter(pk__in=visible.values("pk")).select_related("created_by", "api_key")

    @extend_schema(operation_id="exports_create", request=ExportCreateSerializer,
                   responses={202: ExportJobSerializer, 400: ERROR_BODY, 429: ERROR_BODY, 503: ERROR_BODY},
                   description="Start an export of the explorer's selection (range and filters). CSV carries "
                               "every table column whatever the visibility; a text cell starting with =, +, -, @, tab or "
                               "carriage return gets a leading ' so spreadsheets do not run it as a formula "
                               "(numeric columns are plain numbers). JSONL carries the whole traces, exactly. 503 with "
                               "`Retry-After` when the task queue cannot take the job (it is recorded as failed).")
    def create(self, request):
        job = services.export_create(self.account, self.actor, request.data)
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(operation_id="exports_cancel", request=None,
                   responses={200: ExportJobSerializer, 403: ERROR_BODY, 404: ERROR_BODY, 409: ERROR_BODY},
                   description="Cancel a queued or running export you started; the worker stops at the next "
                               "chunk and keeps no file.")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        job = self.get_object()
        mine = job.api_key_id == self.api_key.pk if self.api_key else job.created_by_id == request.user.pk
        if not mine:
            # Admins see everyone's exports, but one user's cancellation never touches another's (002).
            raise PermissionDenied("Only whoever started an export can cancel it.")
        job = services.export_cancel(self.account, self.actor, job)
        return Response(self.get_serializer(job).data)

    @extend_schema(operation_id="exports_download",
                   responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, "application/x-ndjson"): OpenApiTypes.BINARY,
                              404: ERROR_BODY, 409: ERROR_BODY, 410: ERROR_BODY})
    @action(detail=True, methods=["get"], renderer_classes=[SafeJSONRenderer, DownloadRenderer])
    def download(self, request, pk=None):
        return export_file_response(self.account, self.actor, self.get_object())


def export_file_response(account, actor, job: ExportJob) -> FileResponse:
    """The finished file as an attachment named `<model>_traces_data.<ext>`."""
    from django.core.files.storage import default_storage

    if job.expired:
        raise ApplicationError("This export has expired; start it again.", {"status": ["expired"]}, status=410)
    if job.status != ExportJob.Status.SUCCEEDED or not job.file:
        raise ApplicationError(f"This export is {job.status}; only finished exports can be downloaded.",
                               {"status": [job.status]}, status=409)
    handle = default_storage.open(job.file, "rb")
    services.export_record_download(account, actor, job)
    return FileResponse(handle, as_attachment=True, filename=job.filename, content_type=CONTENT_TYPES[job.format])
