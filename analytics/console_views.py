"""Console pages of the dashboards (D1–D8): thin shells around the analytics endpoints.

Each page renders its frame — toolbar, filters with their options, empty chart cards — and
a small page script fetches the numbers from /api/v1/analytics/… and /api/v1/metrics… with
the selection kept in the URL. Custom dashboards (D8) are read and written through
/api/v1/dashboards; these views only find the dashboard in the account (404 otherwise).
"""
from django.core.exceptions import PermissionDenied
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404
from django.templatetags.static import static
from django.utils import timezone

from accounts.models import Role
from accounts.views import ConsolePage
from django.contrib.postgres.aggregates import ArrayAgg

from analytics.models import DailyRollup
from dashboards import catalog
from dashboards.models import Dashboard
from models_registry.models import Model

FILTER_LABELS = {"module": "All modules", "model": "All models", "feature": "All features", "prompt": "All prompts"}


def range_context(query, account, default="last_7d") -> dict:
    """The picker's state from the query string: a D1 preset, or a custom range of local dates."""
    preset = query.get("preset") or ""
    start, end = query.get("start", "")[:10], query.get("end", "")[:10]
    if preset not in catalog.PRESETS:
        preset = "custom" if (start and end) else default
    presets = [(p, catalog.PRESET_LABELS[p]) for p in
               ("last_hour", "today", "yesterday", "last_24h", "this_week", "last_7d", "this_month", "last_month",
                "last_30d", "last_90d", "this_year", "last_year", "all_time")]
    today = timezone.localdate(timezone.now(), account.tzinfo).isoformat()
    return {"presets": presets, "preset": preset, "start": start, "end": end, "today": today}


def dimension_values(account, *fields: str, limit: int = 200) -> dict[str, list[str]]:
    """Values of rollup dimensions seen in the account's traffic, for filter menus: one pass
    over the daily rollups (every local day has them, today's included)."""
    found = DailyRollup.objects.for_account(account).aggregate(
        **{field: ArrayAgg(field, distinct=True, default=[]) for field in fields})
    return {field: sorted((v for v in found[field] if v), key=str.lower)[:limit] for field in fields}


class AnalyticsPage(ConsolePage):
    """A dashboard page: the shared toolbar, filters of `filter_names`, and `page_script`."""

    page_script = ""
    filter_names: tuple = ()
    live = False
    write_role = Role.MEMBER

    def page_context(self) -> dict:
        return {}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        options = dimension_values(self.account, *[n for n in self.filter_names if n != "model"])
        if "model" in self.filter_names:
            options["model"] = list(Model.objects.for_account(self.account).order_by("name")
                                    .values_list("name", flat=True))
        context.update(
            range=range_context(self.request.GET, self.account),
            filter_fields=[{"name": name, "label": FILTER_LABELS.get(name, name), "options": options[name],
                            "selected": self.request.GET.get(name, "")} for name in self.filter_names],
            page_script=f"console/{self.page_script}",
            live=self.live,
            mp_context={
                "account": self.account.slug, "tz": self.account.timezone, "csrf": get_token(self.request),
                "icons": static("console/icons.svg"), "default_preset": "last_7d",
                "filters": list(self.filter_names), "can_write": self.can_write, **self.page_context(),
            },
        )
        return context


class OverviewPage(AnalyticsPage):
    template_name = "console/analytics_overview.html"
    nav_active = "overview"
    title = "Overview"
    description = "The account at a glance: traffic, reliability, speed and spend against the previous period."
    page_script = "dash-overview.js"
    live = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["kpis"] = [
            ("total_requests", "Requests", ""),
            ("success_rate", "Success rate", "Healthy above 95 %, warning from 90 to 95 %, critical below 90 %."),
            ("p50_latency_ms", "p50 latency", "Half of the requests answered faster than this."),
            ("p95_latency_ms", "p95 latency", "95 % of the requests answered faster than this."),
            ("p99_latency_ms", "p99 latency", "The worst case: 99 % of the requests answered faster than this."),
            ("error_rate", "Error rate", "Failed requests as a share of all requests."),
            ("total_tokens", "Tokens", "Input and output tokens."),
            ("total_cost_usd", "Cost", "Provider cost of the requests, from their own cost or the model's prices."),
            ("projected_monthly_cost_usd", "Projected monthly cost", "The period's spend per day, times 30."),
            ("active_users", "Active users", "Distinct users who made at least one request."),
        ]
        return context


class PerformancePage(AnalyticsPage):
    template_name = "console/analytics_performance.html"
    nav_active = "performance"
    title = "Performance Analytics"
    description = ("Requests, tokens and response times per model and feature. Sort by any column; "
                   "open a row for its request trend, token consumption and latency.")
    page_script = "dash-performance.js"
    filter_names = ("module", "model", "feature")


class ModelAnalyticsPage(AnalyticsPage):
    template_name = "console/analytics_models.html"
    nav_active = "model-analytics"
    title = "Model Analytics"
    description = ("Latency, requests, scaling and tokens of your fine-tuned, open-source and external models, "
                   "with the credits they consumed.")
    page_script = "dash-models.js"


class ProductionPage(AnalyticsPage):
    template_name = "console/analytics_production.html"
    nav_active = "production"
    title = "Production Metrics"
    description = "Volume, success, latency, errors, tokens and cost of production traffic, per prompt."
    page_script = "dash-production.js"
    filter_names = ("prompt", "model")
    live = True

    def page_context(self):
        from models_registry.models import DeploymentVersion

        return {"compare_options": {
            **dimension_values(self.account, "prompt", "prompt_version"),
            "model": list(Model.objects.for_account(self.account).order_by("name").values_list("name", flat=True)),
            "version": sorted(set(DeploymentVersion.objects.for_account(self.account)
                                  .values_list("version", flat=True))),
        }}


class UsagePage(AnalyticsPage):
    template_name = "console/analytics_usage.html"
    nav_active = "usage"
    title = "Usage & Quality"
    description = "Who uses the AI features and when, how fast they answer, what users think of the answers, "\
                  "and what each user costs."
    page_script = "dash-usage.js"
    filter_names = ("model", "feature")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["usage_kpis"] = [
            ("active_users", "Active users", "Distinct users with at least one request."),
            ("queries_per_user", "Queries per user", "Requests per active user: how deeply the features are used."),
            ("total_requests", "Query volume", ""),
            ("tokens_per_query", "Tokens per query", "Input plus output tokens per request."),
            ("cost_per_query_usd", "Cost per query", ""),
            ("cost_per_user_usd", "Cost per user", "The range's spend per active user."),
        ]
        context["performance_kpis"] = [
            ("ttft", "Time to first token", "How long streaming answers took to start (average; p50 and p95 below)."),
            ("latency", "Latency p95", ""),
            ("throughput", "Throughput", "Requests per second over the range; the busiest minute below."),
            ("error_rate", "Error rate", ""),
            ("timeout_rate", "Timeout rate", "Requests that failed by exceeding their time limit."),
            ("cache_hit_rate", "Cache hit rate", "Requests answered from a cache."),
        ]
        return context


# ---------- custom dashboards (D8) ----------

def filter_values(account) -> dict:
    """Known values of each filter, offered while typing a widget's filters."""
    from models_registry.models import Connection, Deployment, DeploymentVersion, ModelType

    values = dimension_values(account, "provider", "source_type", "source", "module", "feature", "prompt",
                              "prompt_version", limit=100)
    values.update(
        model=list(Model.objects.for_account(account).order_by("name").values_list("name", flat=True)),
        deployment=sorted(set(Deployment.objects.for_account(account).values_list("name", flat=True))),
        version=sorted(set(DeploymentVersion.objects.for_account(account).values_list("version", flat=True))),
        connection=list(Connection.objects.for_account(account).order_by("name").values_list("name", flat=True)),
        model_type=list(ModelType.values),
    )
    return values


def widget_catalogue(account) -> dict:
    return {
        "kinds": list(catalog.KINDS),
        "metrics": [{"name": n, "label": label, "unit": unit}
                    for n, label, unit in catalog.metric_choices() + catalog.custom_metric_choices(account)],
        "groupings": [{"name": g, "label": catalog.GROUPING_LABELS.get(g, g)} for g in catalog.GROUPINGS],
        "filters": list(catalog.FILTER_NAMES),
        "presets": [{"name": p, "label": catalog.PRESET_LABELS[p]} for p in catalog.PRESETS],
        "max_widgets": catalog.MAX_WIDGETS,
    }


class DashboardsPage(AnalyticsPage):
    template_name = "console/dashboards/list.html"
    nav_active = "dashboards"
    title = "Dashboards"
    description = "Dashboards of widgets on any metric, grouping and filter, shared with everyone in the account."
    page_script = "dash-list.js"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["dashboards"] = list(Dashboard.objects.for_account(self.account).prefetch_related("widgets"))
        for d in context["dashboards"]:
            d.preset_label = catalog.PRESET_LABELS.get(d.preset, d.preset)
        return context


class DashboardObjectPage(AnalyticsPage):
    """A page about one dashboard of the account; another account's id is a 404."""

    model = Dashboard
    nav_active = "dashboards"

    def dispatch(self, request, *args, **kwargs):
        self.pk = kwargs.pop("pk", None)
        return super().dispatch(request, *args, **kwargs)

    def get_dashboard(self):
        return get_object_or_404(Dashboard.objects.for_account(self.account), pk=self.pk)

    def get_context_data(self, **kwargs):
        dashboard = self.get_dashboard()
        self.dashboard = dashboard
        context = super().get_context_data(**kwargs)
        context["dashboard"] = dashboard
        context["title"] = dashboard.name
        context["description"] = dashboard.description
        return context

    def page_context(self):
        return {"dashboard_id": self.dashboard.pk, "catalogue": widget_catalogue(self.account)}


class DashboardViewPage(DashboardObjectPage):
    template_name = "console/dashboards/view.html"
    page_script = "dash-view.js"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not self.request.GET.get("preset") and not self.request.GET.get("start"):
            context["range"] = range_context({"preset": self.dashboard.preset}, self.account)
        context["mp_context"]["default_preset"] = self.dashboard.preset
        if self.dashboard.prebuilt == Dashboard.Prebuilt.QUALITY:
            context["mp_context"]["ab_options"] = ab_test_options(self.account)
        return context


def ab_test_options(account) -> dict:
    """What the Quality dashboard's A/B test may compare: prompts, prompt versions, and each
    deployment's versions."""
    from models_registry.models import DeploymentVersion

    versions = {}
    for name, version in (DeploymentVersion.objects.for_account(account).order_by("deployment__name", "version")
                          .values_list("deployment__name", "version").distinct()):
        versions.setdefault(name, []).append(version)
    return {**dimension_values(account, "prompt", "prompt_version"), "versions": versions}


class WritersOnly:
    """Editors are for members and above; viewers open dashboards read-only."""

    def get(self, request, *args, **kwargs):
        if hasattr(self, "get_dashboard"):
            self.get_dashboard()  # another account's id: 404 before anything else
        if not self.can_write:
            raise PermissionDenied("Your role cannot change dashboards.")
        return super().get(request, *args, **kwargs)


class DashboardEditPage(WritersOnly, DashboardObjectPage):
    template_name = "console/dashboards/edit.html"
    page_script = "dash-edit.js"
    title = "Edit dashboard"

    def page_context(self):
        return {**super().page_context(), "filter_values": filter_values(self.account)}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"Edit {self.dashboard.name}"
        context["description"] = "Choose each widget's chart, metrics, grouping, filters and range; order them."
        return context


class DashboardNewPage(WritersOnly, AnalyticsPage):
    template_name = "console/dashboards/edit.html"
    nav_active = "dashboards"
    page_script = "dash-edit.js"
    title = "New dashboard"
    description = "Choose each widget's chart, metrics, grouping, filters and range; order them."

    def page_context(self):
        return {"dashboard_id": None, "catalogue": widget_catalogue(self.account),
                "filter_values": filter_values(self.account)}
