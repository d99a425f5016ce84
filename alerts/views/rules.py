"""Alert rules and custom metrics pages."""
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect

from accounts.errors import ApplicationError
from alerts import models as am
from alerts.services import rules as rule_services
from alerts.services.metrics import BASE_METRICS, format_value
from alerts.services.notify import scope_text
from alerts.views.actions import RuleActionMixin
from alerts.views.base import STATE_TONES, AlertsPage, CustomMetricForm, RuleForm


# -- rules ----------------------------------------------------------------------------------

def rule_rows(rules):
    rows = []
    for rule in rules:
        unit = rule.custom_metric.unit if rule.custom_metric_id else BASE_METRICS.get(rule.metric, ("", ""))[1]
        metric = rule.custom_metric.label if rule.custom_metric_id else BASE_METRICS.get(rule.metric, (rule.metric,))[0]
        threshold = f"{rule.threshold:g}× baseline" if rule.baseline == am.Baseline.WEEKLY else \
            format_value(rule.threshold, unit)
        rows.append({"rule": rule, "metric": metric, "condition": f"{rule.get_operator_display()} {threshold}",
                     "scope": scope_text(rule.scope()), "value": format_value(rule.last_value, unit)
                     if rule.last_evaluated_at else "—",
                     "state": (rule.last_state or "new").replace("_", " "),
                     "tone": STATE_TONES.get(rule.last_state, "neutral")})
    return rows


class RulesView(AlertsPage):
    template_name = "console/alerts_rules.html"
    tab = "rules"
    title = "Alerts"
    description = "Rules evaluated every minute on your traffic, and the anomaly detectors every account has."

    def get_context_data(self, **kwargs):
        rule_services.alerts_ensure_defaults(self.account)
        context = super().get_context_data(**kwargs)
        rules = am.AlertRule.objects.for_account(self.account).select_related(
            "custom_metric", "model", "deployment", "version", "connection").prefetch_related("channels")
        context["rows"] = rule_rows(r for r in rules if r.kind == am.RuleKind.THRESHOLD)
        context["anomaly_rows"] = rule_rows(r for r in rules if r.kind == am.RuleKind.ANOMALY)
        context["form"] = kwargs.get("form") or RuleForm(account=self.account,
                                                         initial={"channels": [rule_services.in_app_channel(
                                                             self.account)]})
        return context

    def post(self, request, *args, **kwargs):
        form = RuleForm(request.POST, account=self.account)
        if form.is_valid():
            rule = self.apply(form, lambda: rule_services.rule_create(self.account, self.actor(),
                                                                      **form.service_data(self.account)))
            if rule is not None:
                messages.success(request, f"Created the rule “{rule.name}”. It is evaluated every minute.")
                return self.back()
        return self.render_to_response(self.get_context_data(form=form))


class RuleEditView(RuleActionMixin, AlertsPage):
    template_name = "console/alerts_rule_edit.html"
    model = am.AlertRule

    def get_object(self):
        return get_object_or_404(am.AlertRule.objects.for_account(self.account), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rule = context["rule"] = self.get_object()
        form = kwargs.get("form") or RuleForm(instance=rule, account=self.account)
        if not self.can_write:
            for field in form.fields.values():
                field.disabled = True
        context.update(form=form, title=rule.name, row=rule_rows([rule])[0],
                       events=am.AlertEvent.objects.for_account(self.account).filter(rule=rule)[:20],
                       **self.action_context(rule, kwargs.get("action_form")))
        return context

    def post(self, request, *args, **kwargs):
        rule = self.get_object()
        if request.POST.get("form") == "action":
            return self.post_action(request, rule)
        if request.POST.get("action") == "mute":
            rule_services.rule_update(self.account, self.actor(), rule, muted=not rule.muted)
            messages.success(request, "Muted: nothing is sent." if not rule.muted else "Unmuted.")
            return self.back()
        form = RuleForm(request.POST, instance=am.AlertRule.objects.get(pk=rule.pk), account=self.account)
        if form.is_valid():
            saved = self.apply(form, lambda: rule_services.rule_update(self.account, self.actor(), rule,
                                                                       **form.service_data(self.account)))
            if saved is not None:
                messages.success(request, "Saved the rule.")
                return redirect("alerts", account_slug=self.account.slug)
        return self.render_to_response(self.get_context_data(form=form))


class RuleDeleteView(AlertsPage):
    model = am.AlertRule
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        rule = get_object_or_404(am.AlertRule.objects.for_account(self.account), pk=kwargs["pk"])
        try:
            rule_services.rule_delete(self.account, self.actor(), rule)
            messages.success(request, f"Deleted the rule “{rule.name}”. Its events stay in the history.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("alerts", account_slug=self.account.slug)


# -- custom metrics --------------------------------------------------------------------------

class CustomMetricsView(AlertsPage):
    template_name = "console/alerts_metrics.html"
    tab = "metrics"
    title = "Custom metrics"
    description = "Named formulas over base metrics, usable in alert rules and dashboards."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(metrics=am.CustomMetric.objects.for_account(self.account),
                       base_metrics=[(k, v[0]) for k, v in BASE_METRICS.items()],
                       form=kwargs.get("form") or CustomMetricForm())
        return context

    def post(self, request, *args, **kwargs):
        form = CustomMetricForm(request.POST)
        if form.is_valid():
            metric = self.apply(form, lambda: rule_services.custom_metric_create(self.account, self.actor(),
                                                                                 **form.cleaned_data))
            if metric is not None:
                messages.success(request, f"Added the metric “{metric.label}”.")
                return self.back()
        return self.render_to_response(self.get_context_data(form=form))


class CustomMetricDeleteView(AlertsPage):
    model = am.CustomMetric
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        metric = get_object_or_404(am.CustomMetric.objects.for_account(self.account), pk=kwargs["pk"])
        try:
            rule_services.custom_metric_delete(self.account, self.actor(), metric)
            messages.success(request, f"Deleted the metric “{metric.label}”.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("alerts-metrics", account_slug=self.account.slug)
