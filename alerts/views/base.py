"""The alerts console's base page, tabs and forms."""
from django import forms
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.views.generic import TemplateView

from accounts.console import AccountConsoleMixin
from accounts.errors import ApplicationError
from accounts.models import Role
from accounts.services import Actor
from alerts import models as am
from alerts.services import rules as rule_services
from alerts.services.metrics import BASE_METRICS
from models_registry.models import Connection, Deployment, DeploymentVersion, Model


TABS = [("rules", "Rules", "alerts"), ("events", "Events", "alerts-events"),
        ("channels", "Channels", "alerts-channels"),
        ("metrics", "Custom metrics", "alerts-metrics"), ("slas", "SLAs", "alerts-slas"),
        ("reports", "Reports", "alerts-reports")]
SEVERITY_TONES = {"critical": "bad", "warning": "warn", "info": "info"}
STATUS_TONES = {"firing": "bad", "acknowledged": "warn", "resolved": "ok"}
STATE_TONES = {"firing": "bad", "acknowledged": "warn", "pending": "warn", "ok": "ok", "no_data": "neutral",
               "": "neutral"}
DELIVERY_TONES = {"delivered": "ok", "failed": "bad", "pending": "warn"}


class AlertsPage(AccountConsoleMixin, TemplateView):
    tab = "rules"
    title = "Alerts"
    description = ""
    write_role = Role.MEMBER
    model = None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        open_events = am.AlertEvent.objects.for_account(self.account).filter(status__in=am.OPEN_STATUSES).count()
        tabs = []
        for key, label, url_name in TABS:
            try:
                tabs.append((key, label, reverse(url_name, kwargs={"account_slug": self.account.slug})))
            except NoReverseMatch:
                continue
        context.update(nav_active="alerts", tab=self.tab, title=self.title, description=self.description,
                       alert_tabs=tabs, open_events=open_events, severity_tones=SEVERITY_TONES)
        return context

    def actor(self):
        return Actor(user=self.request.user)

    def back(self):
        return redirect(self.request.path)

    def apply(self, form, call):
        """Run a service; its ApplicationError lands on the form (field or top)."""
        try:
            return call()
        except ApplicationError as exc:
            placed = False
            for field, errors in (exc.errors or {}).items():
                name = {"type": "kind", "recipients": "recipients_text"}.get(field, field)
                if name in form.fields:
                    form.add_error(name, [str(e) for e in (errors if isinstance(errors, list) else [errors])])
                    placed = True
            if not placed:
                form.add_error(None, exc.message)
            return None


# -- forms ------------------------------------------------------------------------------------

def _account_choices(form, account):
    for name, model in (("model", Model), ("deployment", Deployment), ("version", DeploymentVersion),
                        ("connection", Connection), ("channels", am.Channel)):
        if name in form.fields:
            form.fields[name].queryset = model.objects.for_account(account)


class RuleForm(forms.ModelForm):
    metric_choice = forms.ChoiceField(label="Metric")

    class Meta:
        model = am.AlertRule
        fields = ["name", "description", "model", "deployment", "version", "connection", "feature", "prompt",
                  "module", "source", "operator", "threshold", "window_minutes", "duration_minutes", "min_requests",
                  "severity", "channels", "renotify_minutes", "muted"]
        labels = {"window_minutes": "Window (minutes)", "duration_minutes": "Must hold for (minutes)",
                  "min_requests": "Minimum requests", "renotify_minutes": "Re-notify every (minutes)",
                  "muted": "Muted", "model": "Model", "connection": "Connection"}
        help_texts = {"window_minutes": "The metric is computed over this many minutes, every minute.",
                      "renotify_minutes": "Empty: one notification per transition only.",
                      "muted": "Evaluated and recorded, but nothing is sent."}
        widgets = {"description": forms.Textarea(attrs={"rows": 2}), "channels": forms.CheckboxSelectMultiple}

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        _account_choices(self, account)
        customs = [(f"custom:{m.pk}", f"{m.label} (custom)") for m in am.CustomMetric.objects.for_account(account)]
        self.fields["metric_choice"].choices = [(k, v[0]) for k, v in BASE_METRICS.items()] + customs
        self.order_fields(["name", "metric_choice", "operator", "threshold"])
        self.fields["channels"].required = False
        rule = self.instance
        if rule.pk:
            self.fields["metric_choice"].initial = f"custom:{rule.custom_metric_id}" if rule.custom_metric_id \
                else rule.metric
            if rule.kind == am.RuleKind.ANOMALY:
                for name in self.fields:
                    if name not in rule_services.ANOMALY_TUNABLE:
                        self.fields[name].disabled = True
        for name in ("model", "deployment", "version", "connection"):
            self.fields[name].empty_label = "Any"

    def service_data(self, account):
        data = {k: v for k, v in self.cleaned_data.items() if k != "metric_choice"}
        choice = self.cleaned_data["metric_choice"]
        if choice.startswith("custom:"):
            data["custom_metric"] = am.CustomMetric.objects.for_account(account).get(pk=int(choice[7:]))
            data["metric"] = ""
        else:
            data["metric"], data["custom_metric"] = choice, None
        data["channels"] = list(data.get("channels") or [])
        if self.instance.pk and self.instance.kind == am.RuleKind.ANOMALY:
            data = {k: v for k, v in data.items() if k in rule_services.ANOMALY_TUNABLE}
        return data


class ChannelForm(forms.ModelForm):
    recipients_text = forms.CharField(label="Recipients", required=False,
                                      help_text="E-mail channels: addresses separated by commas.")
    url = forms.URLField(label="URL", required=False, max_length=500, assume_scheme="https",
                         help_text="Webhook, Slack incoming webhook, or a PagerDuty Events API v2 URL "
                                   "(default: PagerDuty's).")

    class Meta:
        model = am.Channel
        fields = ["name", "kind", "url", "routing_key", "enabled"]
        labels = {"kind": "Type", "routing_key": "PagerDuty routing key"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["kind"].disabled = True
            self.fields["recipients_text"].initial = ", ".join(self.instance.recipients)
        self.order_fields(["name", "kind", "recipients_text", "url", "routing_key", "enabled"])

    def clean_recipients_text(self):
        values = [v.strip() for v in self.cleaned_data["recipients_text"].replace(";", ",").split(",") if v.strip()]
        validator = forms.EmailField()
        for value in values:
            validator.clean(value)
        return values

    def service_data(self):
        data = {k: v for k, v in self.cleaned_data.items() if k != "recipients_text"}
        data["recipients"] = self.cleaned_data["recipients_text"]
        return data


class CustomMetricForm(forms.ModelForm):
    class Meta:
        model = am.CustomMetric
        fields = ["name", "label", "formula", "unit", "description"]
        help_texts = {"formula": "Numbers, base metric names, + − × ÷ and parentheses, e.g. "
                                 "thumbs_up / (thumbs_up + thumbs_down) * 100",
                      "name": "Lowercase letters, digits and _."}
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class NoteForm(forms.Form):
    note = forms.CharField(required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 4}),
                           label="Post-mortem note", help_text="Cause and prevention. Required to resolve by hand.")
