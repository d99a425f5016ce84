"""Console pages for the model registry: list, create, edit and delete per kind."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import DateTimeInput, modelform_factory
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.generic import TemplateView

from accounts.console import AccountConsoleMixin
from accounts.services import Actor
from models_registry import models as m
from models_registry import services

KINDS = {
    "models": {
        "model": m.Model, "title": "Models", "singular": "model",
        "fields": ["name", "model_type", "base_model", "provider"],
        "columns": [("Name", "name"), ("Type", "get_model_type_display"), ("Base model", "base_model"),
                    ("Provider", "provider")],
        "help": "Fine-tuned, open-source and external models. Names in traces register themselves.",
    },
    "deployments": {
        "model": m.Deployment, "title": "Deployments", "singular": "deployment",
        "fields": ["model", "name", "hardware", "max_replicas", "deployed_at", "undeployed_at"],
        "columns": [("Deployment", "label"), ("Model", "model"), ("Hardware", "hardware"),
                    ("Max replicas", "max_replicas"), ("Deployed", "deployed_at"), ("Undeployed", "undeployed_at")],
        "help": "Hosted models on hardware. Re-deploying a name creates a new deployment, told apart by its time.",
    },
    "versions": {
        "model": m.DeploymentVersion, "title": "Versions", "singular": "version",
        "fields": ["deployment", "version"],
        "columns": [("Deployment", "deployment.label"), ("Version", "version"), ("Created", "created_at")],
        "help": "Versions of each deployment, e.g. v1, v2.",
    },
    "connections": {
        "model": m.Connection, "title": "Connections", "singular": "connection",
        "fields": ["name", "provider"],
        "columns": [("Name", "name"), ("Provider", "provider"), ("Created", "created_at")],
        "help": "Integrations with external providers such as OpenAI or Anthropic.",
    },
    "prices": {
        "model": m.ModelPrice, "title": "Prices", "singular": "price",
        "fields": ["model", "input_per_million_usd", "output_per_million_usd", "effective_from"],
        "columns": [("Model", "model"), ("Input $ / 1M tokens", "input_per_million_usd"),
                    ("Output $ / 1M tokens", "output_per_million_usd"), ("Effective from", "effective_from")],
        "help": "Turn tokens into cost when a trace carries no cost of its own. The price in force at the request's time applies.",
    },
    "hardware-rates": {
        "model": m.HardwareRate, "title": "Hardware rates", "singular": "hardware rate",
        "fields": ["hardware", "credits_per_replica_hour", "effective_from"],
        "columns": [("Hardware", "hardware"), ("Credits / replica-hour", "credits_per_replica_hour"),
                    ("Effective from", "effective_from")],
        "help": "Deployment credits are replicas × this rate over time.",
    },
}

FK_QUERYSETS = {"model": m.Model, "deployment": m.Deployment}


def _value(obj, path):
    for part in path.split("."):
        obj = getattr(obj, part)
        if callable(obj):
            obj = obj()
    return obj


class RegistryPage(AccountConsoleMixin, TemplateView):
    kind = "models"
    model = None  # set per URL so the isolation walk knows which rows a pk names

    def dispatch(self, request, *args, **kwargs):
        self.spec = KINDS[self.kind]
        return super().dispatch(request, *args, **kwargs)

    def form_class(self):
        widgets = {f: DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
                   for f in self.spec["fields"] if f.endswith("_at") or f == "effective_from"}
        return modelform_factory(self.spec["model"], fields=self.spec["fields"], widgets=widgets)

    def make_form(self, *args, **kwargs):
        # Times in forms are the account's local times.
        timezone.activate(self.account.tzinfo)
        form = self.form_class()(*args, **kwargs)
        for name, model in FK_QUERYSETS.items():
            if name in form.fields:
                form.fields[name].queryset = model.objects.for_account(self.account)
        return form

    def rows(self):
        return self.spec["model"].objects.for_account(self.account)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        timezone.activate(self.account.tzinfo)
        context.update(nav_active="registry", kind=self.kind, spec=self.spec, kinds=KINDS)
        return context

    def save(self, form, instance=None):
        actor = Actor(user=self.request.user)
        try:
            if instance is None:
                return services.registry_create(self.account, actor, self.spec["model"], **form.cleaned_data)
            return services.registry_update(self.account, actor, instance, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return None


class RegistryListView(RegistryPage):
    template_name = "console/registry_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["form"] = kwargs.get("form") or self.make_form()
        context["table"] = [
            {"pk": row.pk, "cells": [_value(row, path) for _, path in self.spec["columns"]]} for row in self.rows()
        ]
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
        context["object"] = self.get_object()
        context["form"] = kwargs.get("form") or self.make_form(instance=context["object"])
        if not self.can_write:
            for field in context["form"].fields.values():
                field.disabled = True
        return context

    def post(self, request, *args, **kwargs):
        instance = self.get_object()
        form = self.make_form(request.POST, instance=self.spec["model"].objects.get(pk=instance.pk))
        if form.is_valid() and self.save(form, instance):
            messages.success(request, f"Saved the {self.spec['singular']}.")
            return redirect("registry-" + self.kind, account_slug=self.account.slug)
        return self.render_to_response(self.get_context_data(form=form))


class RegistryDeleteView(RegistryPage):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        instance = get_object_or_404(self.rows(), pk=kwargs["pk"])
        services.registry_delete(self.account, Actor(user=request.user), instance)
        messages.success(request, f"Deleted the {self.spec['singular']}.")
        return redirect("registry-" + self.kind, account_slug=self.account.slug)
