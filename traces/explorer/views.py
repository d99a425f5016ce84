"""The console's Traces page (X1–X5) and its two helpers: saving preferences and downloading
an export. The page is a shell; traces.js fills it from the API with the user's session."""
import json

from django.http import Http404, JsonResponse
from django.templatetags.static import static
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from accounts.console import AccountConsoleMixin
from accounts.errors import ApplicationError
from accounts.models import Role
from accounts.services import Actor
from models_registry.models import Connection, Deployment, Model
from traces.explorer.columns import catalog
from traces.explorer.params import EXPLORER_PRESETS, PRESETS
from traces.explorer.preferences import preference_get, preference_save
from traces.exports.api import export_file_response
from traces.exports.selectors import export_jobs_visible
from traces.models import ExportJob


def model_options(account) -> list[dict]:
    """The model selector: hosted models with their deployments (told apart by their deployment
    time when a name repeats) and versions; external models with the connections of their provider."""
    deployments = {}
    for dep in Deployment.objects.for_account(account).prefetch_related("versions").order_by("name", "-deployed_at"):
        deployments.setdefault(dep.model_id, []).append(dep)
    connections = list(Connection.objects.for_account(account).order_by("name"))
    options = []
    for model in Model.objects.for_account(account).order_by("name"):
        item = {"name": model.name, "type": model.model_type, "type_label": model.get_model_type_display(),
                "base_model": model.base_model, "provider": model.provider, "deployments": [], "connections": []}
        if model.is_hosted:
            deps = deployments.get(model.pk, [])
            names = [d.name for d in deps]
            for dep in deps:
                when = timezone.localtime(dep.deployed_at).strftime("%-d %b %Y %H:%M")
                item["deployments"].append({
                    "id": dep.pk, "name": dep.name, "deployed": when,
                    "label": f"{dep.name} (deployed {when})" if names.count(dep.name) > 1 else dep.name,
                    "versions": [{"id": v.pk, "version": v.version} for v in dep.versions.all()],
                })
        else:
            item["connections"] = [{"id": c.pk, "name": c.name} for c in connections
                                   if not model.provider or not c.provider or c.provider == model.provider]
        options.append(item)
    return options


class TracesPageView(AccountConsoleMixin, TemplateView):
    template_name = "console/traces.html"
    # Nothing on the page posts a form; exports go through the API with the member role.
    write_role = Role.VIEWER

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        can_export = Role.at_least(self.membership.role, Role.MEMBER)
        context.update(
            nav_active="traces", title="Traces",
            description="Every request to your models, run by run: inputs, outputs, response times and metadata. "
                        "Filter, search, open a run, export what you see.",
            can_export=can_export,
            explorer={
                "account": self.account.slug, "timezone": self.account.timezone, "user": self.request.user.email,
                "can_export": can_export, "models": model_options(self.account),
                "preferences": preference_get(self.account, self.request.user), "catalog": catalog(),
                "presets": [[key, PRESETS[key]] for key in EXPLORER_PRESETS],
                "urls": {"traces": "/api/v1/traces", "summary": "/api/v1/explorer/summary",
                         "exports": "/api/v1/exports", "breakdown": "/api/v1/metrics/breakdown",
                         "preferences": f"/a/{self.account.slug}/traces/preferences/",
                         "download": f"/a/{self.account.slug}/traces/exports/0/download/"},
                "today": timezone.localdate().isoformat(),
                "icons": {"page": static("console/traces-icons.svg"), "base": static("console/icons.svg")},
            },
        )
        return context


class ExplorerPreferencesView(AccountConsoleMixin, View):
    """POST JSON: remember the model selection and/or hidden columns of this user in this account."""

    write_role = Role.VIEWER  # everyone's own view of the page

    def post(self, request, *args, **kwargs):
        try:
            data = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            return JsonResponse({"message": "Send JSON.", "errors": {"body": ["not JSON"]}}, status=400)
        try:
            return JsonResponse(preference_save(self.account, request.user, data))
        except ApplicationError as exc:
            return JsonResponse({"message": exc.message, "errors": exc.errors}, status=exc.status)


class ExportDownloadView(AccountConsoleMixin, View):
    """The browser's download of a finished export, authorised like the API's."""

    model = ExportJob
    write_role = Role.VIEWER

    def get(self, request, pk, *args, **kwargs):
        jobs = export_jobs_visible(self.account, user=request.user, role=self.membership.role)
        job = jobs.filter(pk=pk).first()
        if job is None:
            raise Http404("No such export.")
        try:
            return export_file_response(self.account, Actor(user=request.user), job)
        except ApplicationError as exc:
            return JsonResponse({"message": exc.message, "errors": exc.errors}, status=exc.status)
