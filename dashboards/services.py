"""Everything that writes dashboards and widgets, and the rules a widget definition obeys.

A definition is checked against the metrics layer (metric names, groupings, filters) and
against the account: a filter naming a model, deployment, version, connection or prompt
must name one of this account's — another account's reads as unknown (T1).
"""
from django.db import IntegrityError, transaction
from django.db.models import Max

from accounts.errors import ApplicationError
from analytics.models import DailyRollup, HourlyRollup
from dashboards import catalog
from dashboards.models import Dashboard, Widget
from dashboards.prebuilt import PREBUILT
from models_registry.models import Connection, Deployment, DeploymentVersion, Model, ModelType
from traces.models import Trace

WIDGET_FIELDS = ("title", "kind", "metrics", "group_by", "filters", "preset", "width", "limit")
DASHBOARD_FIELDS = ("name", "description", "preset", "filters")
# Filters that name rows of the registry: (model, field holding the name).
REGISTRY_FILTERS = {"model": (Model, "name"), "deployment": (Deployment, "name"),
                    "version": (DeploymentVersion, "version"), "connection": (Connection, "name")}


def _prompt_known(account, prompt: str) -> bool:
    # Rollups first (small, indexed by account); raw traces for what is not rolled up yet.
    return (DailyRollup.objects.for_account(account).filter(prompt=prompt).exists()
            or HourlyRollup.objects.for_account(account).filter(prompt=prompt).exists()
            or Trace.objects.for_account(account).filter(prompt=prompt).exists())


def filters_errors(account, filters) -> dict:
    """{filter: [message]} for a filters object; empty when every filter is valid."""
    if not isinstance(filters, dict):
        return {"filters": ["must be an object of filter name to value"]}
    errors = {}
    for name, value in filters.items():
        if name not in catalog.FILTER_NAMES:
            errors[name] = [f"unknown filter; one of {', '.join(catalog.FILTER_NAMES)}"]
        elif not isinstance(value, str) or not value.strip():
            errors[name] = ["must be a non-empty string"]
        elif len(value) > 200 or "\x00" in value:
            errors[name] = ["must be at most 200 characters without NUL"]
        elif name in REGISTRY_FILTERS:
            model, field = REGISTRY_FILTERS[name]
            if not model.objects.for_account(account).filter(**{field: value}).exists():
                errors[name] = [f"no {name} named '{value}' in this account"]
        elif name == "prompt" and not _prompt_known(account, value):
            errors[name] = [f"no prompt '{value}' in this account's traffic"]
        elif name == "model_type" and value not in ModelType.values:
            errors[name] = [f"must be one of {', '.join(ModelType.values)}"]
    return {"filters": errors} if errors else {}


def widget_errors(account, data: dict) -> dict:
    """{field: [message]} for one widget definition (already shaped by the serializer)."""
    errors = {}
    kind, group_by, metrics = data.get("kind"), data.get("group_by", ""), data.get("metrics")
    if kind not in catalog.KINDS:
        errors["kind"] = [f"must be one of {', '.join(catalog.KINDS)}"]
    if kind == "alerts":
        # Alert events, not a metric: no metric and no grouping; limit is how many are listed.
        if metrics not in (None, []):
            errors["metrics"] = ["an alerts widget lists alert events: leave the metrics empty"]
        if group_by:
            errors["group_by"] = ["an alerts widget lists alert events: leave the grouping empty"]
        if data.get("preset", "") not in ("", *catalog.PRESETS):
            errors["preset"] = [f"must be empty (the dashboard's range) or one of {', '.join(catalog.PRESETS)}"]
        errors.update(filters_errors(account, data.get("filters", {})))
        return errors
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
        errors["metrics"] = ["must be a list of 1 to 4 metric names"]
    else:
        custom = [m for m in metrics if m.startswith(catalog.CUSTOM_PREFIX)]
        unknown = [m for m in metrics if not catalog.is_metric(m) and not (
            m in custom and catalog.is_custom_metric(account, m))]
        if unknown:
            errors["metrics"] = [f"unknown metric '{m}'" for m in unknown]
        elif custom and kind != "metric":
            errors["metrics"] = ["a custom metric shows on a metric card"]
        elif len(metrics) > catalog.MAX_METRICS or len(set(metrics)) != len(metrics):
            errors["metrics"] = [f"name 1 to {catalog.MAX_METRICS} different metrics"]
        elif kind in ("metric", "pie") and len(metrics) != 1:
            errors["metrics"] = [f"a {kind} widget shows exactly one metric"]
    if group_by not in catalog.GROUPINGS:
        errors["group_by"] = [f"must be '', 'time' or one of {', '.join(catalog.GROUPINGS[2:])}"]
    elif kind == "metric" and group_by:
        errors["group_by"] = ["a metric card shows one figure: leave the grouping empty"]
    elif kind == "pie" and group_by in ("", "time"):
        errors["group_by"] = ["a pie splits by a dimension such as model or prompt"]
    elif kind in ("line", "bar", "table") and not group_by:
        errors["group_by"] = ["choose 'time' or a dimension"]
    if data.get("preset", "") not in ("", *catalog.PRESETS):
        errors["preset"] = [f"must be empty (the dashboard's range) or one of {', '.join(catalog.PRESETS)}"]
    errors.update(filters_errors(account, data.get("filters", {})))
    return errors


def _check_dashboard(account, data: dict, instance=None):
    errors = {}
    if "preset" in data and data["preset"] not in catalog.PRESETS:
        errors["preset"] = [f"must be one of {', '.join(catalog.PRESETS)}"]
    if "filters" in data:
        errors.update(filters_errors(account, data["filters"]))
    if "name" in data:
        clash = Dashboard.objects.for_account(account).filter(name__iexact=data["name"])
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors["name"] = ["a dashboard with this name exists in this account"]
    widgets = data.get("widgets")
    if widgets is not None:
        if len(widgets) > catalog.MAX_WIDGETS:
            errors["widgets"] = [f"at most {catalog.MAX_WIDGETS} widgets"]
        else:
            # Keyed by the widget's index, as DRF reports nested list errors.
            per_widget = {str(i): e for i, e in enumerate(widget_errors(account, w) for w in widgets) if e}
            if per_widget:
                errors["widgets"] = per_widget
    if errors:
        raise ApplicationError("Invalid input.", errors)


def _widgets_replace(account, dashboard, widgets):
    Widget.objects.for_account(account).filter(dashboard=dashboard).delete()
    Widget.objects.bulk_create([
        Widget(account=account, dashboard=dashboard, position=i, **{f: w[f] for f in WIDGET_FIELDS if f in w})
        for i, w in enumerate(widgets)
    ])


@transaction.atomic
def dashboard_create(account, *, user=None, widgets=(), **fields) -> Dashboard:
    data = {f: fields[f] for f in DASHBOARD_FIELDS if f in fields}
    _check_dashboard(account, {**data, "widgets": list(widgets)})
    top = Dashboard.objects.for_account(account).aggregate(top=Max("position"))["top"]
    try:
        with transaction.atomic():
            dashboard = Dashboard.objects.create(account=account, created_by=user, position=(top or 0) + 1, **data)
    except IntegrityError:  # a concurrent create with the same name
        raise ApplicationError("Invalid input.", {"name": ["a dashboard with this name exists in this account"]})
    _widgets_replace(account, dashboard, widgets)
    return dashboard


@transaction.atomic
def dashboard_update(account, dashboard: Dashboard, *, widgets=None, **fields) -> Dashboard:
    """Change the dashboard; a given widget list replaces the widgets, in its order."""
    data = {f: fields[f] for f in DASHBOARD_FIELDS if f in fields}
    _check_dashboard(account, {**data, **({"widgets": list(widgets)} if widgets is not None else {})}, dashboard)
    for name, value in data.items():
        setattr(dashboard, name, value)
    try:
        with transaction.atomic():
            dashboard.save()
    except IntegrityError:
        raise ApplicationError("Invalid input.", {"name": ["a dashboard with this name exists in this account"]})
    if widgets is not None:
        _widgets_replace(account, dashboard, widgets)
    return dashboard


def dashboard_delete(account, dashboard: Dashboard) -> None:
    Dashboard.objects.for_account(account).filter(pk=dashboard.pk).delete()


def _reorder(queryset, ids, what):
    ids = list(ids)
    existing = list(queryset.values_list("pk", flat=True))
    if sorted(ids) != sorted(existing):
        raise ApplicationError("Invalid input.", {"ids": [f"give every {what} of the list exactly once"]})
    position = {pk: i for i, pk in enumerate(ids)}
    rows = list(queryset)
    for row in rows:
        row.position = position[row.pk]
    queryset.model.objects.bulk_update(rows, ["position"])


@transaction.atomic
def dashboards_reorder(account, ids) -> None:
    _reorder(Dashboard.objects.for_account(account).select_for_update(), ids, "dashboard")


@transaction.atomic
def widgets_reorder(account, dashboard: Dashboard, ids) -> None:
    _reorder(Widget.objects.for_account(account).filter(dashboard=dashboard).select_for_update(), ids, "widget")


@transaction.atomic
def widget_create(account, dashboard: Dashboard, **fields) -> Widget:
    data = {f: fields[f] for f in WIDGET_FIELDS if f in fields}
    errors = widget_errors(account, data)
    if Widget.objects.for_account(account).filter(dashboard=dashboard).count() >= catalog.MAX_WIDGETS:
        errors["dashboard"] = [f"a dashboard holds at most {catalog.MAX_WIDGETS} widgets"]
    if errors:
        raise ApplicationError("Invalid input.", errors)
    top = Widget.objects.for_account(account).filter(dashboard=dashboard).aggregate(top=Max("position"))["top"]
    return Widget.objects.create(account=account, dashboard=dashboard,
                                 position=0 if top is None else top + 1, **data)


@transaction.atomic
def widget_update(account, widget: Widget, **fields) -> Widget:
    data = {f: getattr(widget, f) for f in WIDGET_FIELDS} | {f: fields[f] for f in WIDGET_FIELDS if f in fields}
    errors = widget_errors(account, data)
    if errors:
        raise ApplicationError("Invalid input.", errors)
    for name, value in data.items():
        setattr(widget, name, value)
    widget.save()
    return widget


def widget_delete(account, widget: Widget) -> None:
    Widget.objects.for_account(account).filter(pk=widget.pk).delete()


@transaction.atomic
def dashboards_create_prebuilt(account) -> list[Dashboard]:
    """Executive, Performance, Cost and Quality; idempotent (one of each per account)."""
    made = []
    for key, spec in PREBUILT.items():
        if Dashboard.objects.for_account(account).filter(prebuilt=key).exists():
            continue
        name = spec["name"]
        if Dashboard.objects.for_account(account).filter(name__iexact=name).exists():
            name = f"{name} (pre-built)"
        dashboard = Dashboard.objects.create(account=account, name=name, description=spec["description"],
                                             prebuilt=key, position=spec["position"])
        # Trusted definitions: the catalogue test checks each against the same rules.
        _widgets_replace(account, dashboard, spec["widgets"])
        made.append(dashboard)
    return made
