"""Console pages for the model registry: one list / edit / delete set per kind of row.

Writes go through models_registry.services (registry_create/update/delete), which validate
and record the audit entry; these views only build forms and tables.
"""
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms import DateTimeField, DateTimeInput, modelform_factory
from django.shortcuts import get_object_or_404, redirect
from django.utils import dateformat, timezone
from django.views.generic import TemplateView

from accounts.console import AccountConsoleMixin
from accounts.errors import ApplicationError
from accounts.services import Actor
from models_registry import models as m
from models_registry import services

TYPE_TONES = {m.ModelType.FINE_TUNED: "owner", m.ModelType.OPEN_SOURCE: "info", m.ModelType.EXTERNAL: "neutral"}
JOB_TONES = {"succeeded": "ok", "failed": "bad", "running": "info", "queued": "neutral", "cancelled": "warn"}


def money(value: Decimal | None) -> str:
    """$2.50, $0.075 — at least cents, never trailing zeros beyond them."""
    if value is None:
        return "—"
    text = format(value.normalize(), "f")
    if "." not in text or len(text.split(".")[1]) < 2:
        text = f"{value:.2f}"
    return f"${text}"


def number(value: Decimal | None) -> str:
    if value is None:
        return "—"
    text = format(value.normalize(), "f")
    return text if "." in text else f"{int(value):,}"


def when(value) -> str:
    return dateformat.format(timezone.localtime(value), "j M Y H:i")


def cell(text="", *, dt=None, badge=None, sub=None, primary=False, num=False, mono=False, badges=None):
    return {"text": text, "dt": dt, "badge": badge, "sub": sub, "primary": primary, "num": num, "mono": mono,
            "badges": badges}


def _in_force(rows, key):
    """Pks of the rows in force now: per key, the latest effective_from that has started."""
    now, latest = timezone.now(), {}
    for row in rows:
        if row.effective_from <= now:
            k = key(row)
            if k not in latest or row.effective_from > latest[k].effective_from:
                latest[k] = row
    return {row.pk for row in latest.values()}


def _models_rows(qs):
    # Meta.ordering does not apply to aggregating queries: order explicitly.
    for row in qs.annotate(n_deployments=Count("deployments")).order_by("name"):
        yield row, [
            cell(row.name, primary=True),
            cell(badge=(TYPE_TONES.get(row.model_type, "neutral"), row.get_model_type_display())),
            cell(row.base_model or "—"),
            cell(row.provider or "—"),
            cell(str(row.n_deployments), num=True),
            cell(dt=row.created_at),
        ]


def _deployment_rows(qs):
    for row in qs.select_related("model").prefetch_related("versions"):
        live = row.undeployed_at is None
        yield row, [
            cell(row.name, primary=True),
            cell(row.model.name),
            cell(badges=[v.version for v in row.versions.all()] or None, text="—"),
            cell(row.hardware or "—"),
            cell(str(row.max_replicas), num=True),
            cell(dt=row.deployed_at),
            cell(badge=("ok", "Deployed") if live else ("neutral", "Undeployed"),
                 sub=None if live else when(row.undeployed_at)),
        ]


def _version_rows(qs):
    for row in qs.select_related("deployment__model"):
        yield row, [
            cell(row.version, primary=True, mono=True),
            cell(row.deployment.name, sub=f"deployed {when(row.deployment.deployed_at)}"),
            cell(row.deployment.model.name),
            cell(dt=row.created_at),
        ]


def _connection_rows(qs):
    for row in qs:
        yield row, [cell(row.name, primary=True), cell(row.provider or "—"), cell(dt=row.created_at)]


def _price_rows(qs):
    rows = list(qs.select_related("model"))
    current = _in_force(rows, lambda r: r.model_id)
    for row in rows:
        yield row, [
            cell(row.model.name, primary=True),
            cell(money(row.input_per_million_usd), num=True),
            cell(money(row.output_per_million_usd), num=True),
            cell(dt=row.effective_from),
            cell(badge=("ok", "In force") if row.pk in current else
                 (("info", "Scheduled") if row.effective_from > timezone.now() else ("neutral", "Superseded"))),
        ]


def _rate_rows(qs):
    rows = list(qs)
    current = _in_force(rows, lambda r: r.hardware)
    for row in rows:
        yield row, [
            cell(row.hardware, primary=True),
            cell(number(row.credits_per_replica_hour), num=True),
            cell(dt=row.effective_from),
            cell(badge=("ok", "In force") if row.pk in current else
                 (("info", "Scheduled") if row.effective_from > timezone.now() else ("neutral", "Superseded"))),
        ]


def _replica_rows(qs):
    """Rows of a page already ordered and cut by the view (spec "order"): the newest first."""
    for row in qs:
        yield row, [
            cell(dt=row.at),
            cell(row.deployment.name, primary=True),
            cell(row.version.version if row.version else "All versions", mono=bool(row.version)),
            cell(str(row.replicas), num=True),
            cell(row.hardware),
        ]


def _job_rows(qs):
    for row in qs.select_related("model"):
        yield row, [
            cell(row.external_id, primary=True, mono=True),
            cell(row.model.name),
            cell(badge=(JOB_TONES.get(row.status, "neutral"), row.get_status_display())),
            cell(dt=row.started_at),
            cell(dt=row.finished_at) if row.finished_at else cell("—"),
            cell(number(row.credits), num=True),
        ]


KINDS = {
    "models": {
        "model": m.Model, "title": "Models", "singular": "model", "rows": _models_rows, "icon": "model-analytics",
        "fields": ["name", "model_type", "base_model", "provider"],
        "labels": {"model_type": "Type", "base_model": "Base model"},
        "columns": ["Name", "Type", "Base model", "Provider", ("Deployments", "num"), "Added"],
        "help": "Fine-tuned, open-source and external models. Names that arrive in traces are registered automatically.",
        "empty": "Models appear here as soon as traces name them.",
    },
    "deployments": {
        "model": m.Deployment, "title": "Deployments", "singular": "deployment", "rows": _deployment_rows,
        "icon": "registry",
        "fields": ["model", "name", "hardware", "max_replicas", "deployed_at", "undeployed_at"],
        "labels": {"max_replicas": "Max replicas", "deployed_at": "Deployed at", "undeployed_at": "Undeployed at"},
        "tips": {"max_replicas": "The autoscaling ceiling. Day charts draw it as a red line.",
                 "deployed_at": "Two deployments of the same name are told apart by this time."},
        "columns": ["Deployment", "Model", "Versions", "Hardware", ("Max replicas", "num"), "Deployed", "Status"],
        "help": "Hosted models running on hardware. Re-deploying a name creates a new deployment, told apart by its time.",
        "empty": "Deployments of fine-tuned and open-source models appear here.",
    },
    "versions": {
        "model": m.DeploymentVersion, "title": "Versions", "singular": "version", "rows": _version_rows,
        "icon": "traces",
        "fields": ["deployment", "version"],
        "columns": ["Version", "Deployment", "Model", "Added"],
        "help": "Versions of each deployment (v1, v2 …). Dashboards show all versions unless you pick one.",
        "empty": "Versions arrive with traces and deployment events.",
    },
    "connections": {
        "model": m.Connection, "title": "Connections", "singular": "connection", "rows": _connection_rows,
        "icon": "production",
        "fields": ["name", "provider"],
        "columns": ["Connection", "Provider", "Added"],
        "help": "Integrations with external providers such as OpenAI or Anthropic.",
        "empty": "Connections appear here as soon as traces of external models name them.",
    },
    "prices": {
        "model": m.ModelPrice, "title": "Prices", "singular": "price", "rows": _price_rows, "icon": "performance",
        "fields": ["model", "input_per_million_usd", "output_per_million_usd", "effective_from"],
        "labels": {"input_per_million_usd": "Input $ per 1M tokens", "output_per_million_usd": "Output $ per 1M tokens",
                   "effective_from": "Effective from"},
        "tips": {"effective_from": "The price in force at a request's time applies, so old traffic keeps its old price."},
        "columns": ["Model", ("Input / 1M tokens", "num"), ("Output / 1M tokens", "num"), "Effective from", "Status"],
        "help": "Turn tokens into cost when a trace carries no cost of its own.",
        "empty": "Without a price, traces without a cost of their own count as zero cost.",
    },
    "hardware-rates": {
        "model": m.HardwareRate, "title": "Hardware rates", "singular": "hardware rate", "rows": _rate_rows,
        "icon": "model-analytics",
        "fields": ["hardware", "credits_per_replica_hour", "effective_from"],
        "labels": {"credits_per_replica_hour": "Credits per replica-hour", "effective_from": "Effective from"},
        "columns": ["Hardware", ("Credits / replica-hour", "num"), "Effective from", "Status"],
        "help": "Deployment credits are replicas × this rate over time, for the hardware each replica runs on.",
        "empty": "Add a rate per hardware type to turn replica hours into credits.",
    },
    "scaling": {
        "model": m.ReplicaEvent, "title": "Scaling events", "singular": "scaling event", "rows": _replica_rows,
        "icon": "production", "order": ("-at", "-id"), "related": ("deployment", "version"),
        "fields": ["deployment", "version", "at", "replicas", "hardware"],
        "labels": {"at": "From", "version": "Version (optional)"},
        "columns": ["From", "Deployment", "Version", ("Replicas", "num"), "Hardware"],
        "help": "From each event's time on, that many replicas of that hardware run. Usually sent through the API.",
        "empty": "Replica changes sent through the API, or added here, draw the scaling chart and the credits.",
    },
    "fine-tuning": {
        "model": m.FineTuneJob, "title": "Fine-tuning jobs", "singular": "fine-tuning job", "rows": _job_rows,
        "icon": "usage",
        "fields": ["model", "external_id", "status", "started_at", "finished_at", "credits"],
        "labels": {"external_id": "Job ID", "started_at": "Started at", "finished_at": "Finished at"},
        "columns": ["Job", "Model", "Status", "Started", "Finished", ("Credits", "num")],
        "help": "Fine-tuning jobs and the credits they consumed.",
        "empty": "Fine-tuning jobs sent through the API, or added here, count towards fine-tuning credits.",
    },
}

# Foreign keys offered in forms: only this account's rows.
FK_QUERYSETS = {"model": m.Model, "deployment": m.Deployment, "version": m.DeploymentVersion}
EMPTY_LABELS = {"model": "Choose a model", "deployment": "Choose a deployment", "version": "All versions"}


REGISTRY_PAGE_SIZE = 50


class RegistryPage(AccountConsoleMixin, TemplateView):
    kind = "models"
    model = None  # set per URL so the isolation walk knows which rows a pk names

    def dispatch(self, request, *args, **kwargs):
        self.spec = KINDS[self.kind]
        return super().dispatch(request, *args, **kwargs)

    def form_class(self):
        widgets = {f: DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
                   for f in self.spec["fields"] if f.endswith("_at") or f in ("at", "effective_from")}
        return modelform_factory(self.spec["model"], fields=self.spec["fields"], widgets=widgets,
                                 labels=self.spec.get("labels"))

    def make_form(self, *args, **kwargs):
        form = self.form_class()(*args, **kwargs)
        for name, model in FK_QUERYSETS.items():
            if name in form.fields:
                form.fields[name].queryset = model.objects.for_account(self.account)
                form.fields[name].empty_label = EMPTY_LABELS[name]
        for name, field in form.fields.items():
            field.tip = self.spec.get("tips", {}).get(name, "")
        return form

    def rows(self):
        return self.spec["model"].objects.for_account(self.account)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(nav_active="registry", kind=self.kind, spec=self.spec, title=self.spec["title"],
                       description=self.spec["help"],
                       kinds=[(k, s["title"]) for k, s in KINDS.items()])
        return context

    def save(self, form, instance=None):
        actor = Actor(user=self.request.user)
        try:
            if instance is None:
                return services.registry_create(self.account, actor, self.spec["model"], **form.cleaned_data)
            return services.registry_update(self.account, actor, instance, **form.cleaned_data)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
            return None


class RegistryListView(RegistryPage):
    template_name = "console/registry_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["form"] = kwargs.get("form") or self.make_form()
        number = self.request.GET.get("page")
        if "order" in self.spec:
            # Long lists (tens of thousands of scaling events): the database cuts the page.
            qs = self.rows().select_related(*self.spec.get("related", ())).order_by(*self.spec["order"])
            page = Paginator(qs, REGISTRY_PAGE_SIZE).get_page(number)
            rows = self.spec["rows"](page.object_list)
        else:
            # Short lists whose rows are judged against each other (prices in force): cut after.
            page = Paginator(list(self.spec["rows"](self.rows())), REGISTRY_PAGE_SIZE).get_page(number)
            rows = page.object_list
        context["page"] = page
        context["table"] = [{"pk": row.pk, "cells": cells} for row, cells in rows]
        context["columns"] = [c if isinstance(c, tuple) else (c, "") for c in self.spec["columns"]]
        context["empty_heading"] = f"No {self.spec['title'].lower()} yet"
        context["has_times"] = any(isinstance(f, DateTimeField) for f in context["form"].fields.values())
        return context

    def post(self, request, *args, **kwargs):
        form = self.make_form(request.POST)
        if form.is_valid() and self.save(form):
            messages.success(request, f"Added the {self.spec['singular']}.")
            return redirect(request.path)
        return self.render_to_response(self.get_context_data(form=form))


class RegistryEditView(RegistryPage):
    template_name = "console/registry_edit.html"

    def get_object(self):
        return get_object_or_404(self.rows(), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        obj = context["object"] = self.get_object()
        context["form"] = kwargs.get("form") or self.make_form(instance=obj)
        if not self.can_write:
            for field in context["form"].fields.values():
                field.disabled = True
        if self.kind == "deployments":
            context["versions"] = obj.versions.all()
        return context

    def post(self, request, *args, **kwargs):
        instance = self.get_object()
        # The form validates a fresh copy (validation writes into it); the service gets the
        # untouched row, so its audit entry can say what changed.
        form = self.make_form(request.POST, instance=self.rows().get(pk=instance.pk))
        if form.is_valid() and self.save(form, instance):
            messages.success(request, f"Saved the {self.spec['singular']}.")
            return redirect("registry-" + self.kind, account_slug=self.account.slug)
        return self.render_to_response(self.get_context_data(form=form))


class RegistryDeleteView(RegistryPage):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        instance = get_object_or_404(self.rows(), pk=kwargs["pk"])
        try:
            services.registry_delete(self.account, Actor(user=request.user), instance)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("registry-" + self.kind, account_slug=self.account.slug)
        messages.success(request, f"Deleted the {self.spec['singular']}.")
        return redirect("registry-" + self.kind, account_slug=self.account.slug)
