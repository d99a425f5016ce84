"""Console pages for alerts: rules, events (acknowledge / resolve with a post-mortem), channels and
their failed deliveries, custom metrics, SLAs, scheduled reports, notifications (the bell).

Thin: forms parse, alerts.services write (and audit), templates render. Members write rules,
channels, metrics and SLAs and act on events; admins manage reports (T2); every role may
clear its own notifications.
"""
from datetime import timedelta

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.generic import TemplateView

from accounts.console import AccountConsoleMixin
from accounts.errors import ApplicationError
from accounts.models import Role
from accounts.services import Actor
from alerts import models as am
from alerts.services import rules as rule_services
from alerts.services.delivery import delivery_retry
from alerts.services.evaluation import event_acknowledge, event_resolve, event_set_note
from alerts.services.metrics import BASE_METRICS, format_value
from alerts.services.notify import metric_text, notifications_for, notifications_mark_read, scope_text
from models_registry.models import Connection, Deployment, DeploymentVersion, Model

TABS = [("rules", "Rules", "alerts"), ("events", "Events", "alerts-events"), ("channels", "Channels", "alerts-channels"),
        ("metrics", "Custom metrics", "alerts-metrics"), ("slas", "SLAs", "alerts-slas"),
        ("reports", "Reports", "alerts-reports")]
SEVERITY_TONES = {"critical": "bad", "warning": "warn", "info": "info"}
STATUS_TONES = {"firing": "bad", "acknowledged": "warn", "resolved": "ok"}
STATE_TONES = {"firing": "bad", "acknowledged": "warn", "pending": "warn", "ok": "ok", "no_data": "neutral", "": "neutral"}
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
                     if rule.last_evaluated_at else "—", "state": rule.last_state or "new",
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


class RuleEditView(AlertsPage):
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
                       events=am.AlertEvent.objects.for_account(self.account).filter(rule=rule)[:20])
        return context

    def post(self, request, *args, **kwargs):
        rule = self.get_object()
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


# -- events ---------------------------------------------------------------------------------

def event_row(event):
    unit = BASE_METRICS.get(event.metric, ("", ""))[1]
    return {"event": event, "metric": metric_text(event), "value": format_value(event.value, unit),
            "last": format_value(event.last_value, unit), "threshold": format_value(event.threshold, unit),
            "scope": scope_text(event.scope), "tone": STATUS_TONES[event.status],
            "severity_tone": SEVERITY_TONES[event.severity]}


class EventsView(AlertsPage):
    template_name = "console/alerts_events.html"
    tab = "events"
    title = "Alert events"
    description = "Every incident: firing, acknowledged, resolved — with its post-mortem."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        status = self.request.GET.get("status", "")
        events = am.AlertEvent.objects.for_account(self.account).select_related("acknowledged_by", "resolved_by")
        if status == "open":
            events = events.filter(status__in=am.OPEN_STATUSES)
        elif status in am.EventStatus.values:
            events = events.filter(status=status)
        context.update(rows=[event_row(e) for e in events[:200]], status=status)
        return context


class EventView(AlertsPage):
    template_name = "console/alerts_event.html"
    tab = "events"
    model = am.AlertEvent

    def get_object(self):
        return get_object_or_404(am.AlertEvent.objects.for_account(self.account)
                                 .select_related("acknowledged_by", "resolved_by", "rule"), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        event = self.get_object()
        context.update(row=event_row(event), event=event, title=event.rule_name,
                       form=kwargs.get("form") or NoteForm(initial={"note": event.note}),
                       deliveries=event.deliveries.select_related("channel").order_by("created_at"))
        return context

    def post(self, request, *args, **kwargs):
        event = self.get_object()
        form = NoteForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        note, action = form.cleaned_data["note"], request.POST.get("action")
        calls = {"acknowledge": (lambda: event_acknowledge(self.account, self.actor(), event, note), "Acknowledged."),
                 "resolve": (lambda: event_resolve(self.account, self.actor(), event, note), "Resolved."),
                 "note": (lambda: event_set_note(self.account, self.actor(), event, note), "Saved the note.")}
        if action not in calls:
            form.add_error(None, "Choose acknowledge, resolve or save note.")
            return self.render_to_response(self.get_context_data(form=form))
        done = self.apply(form, calls[action][0])
        if done is None:
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(request, calls[action][1])
        return self.back()


# -- channels -------------------------------------------------------------------------------

class ChannelsView(AlertsPage):
    template_name = "console/alerts_channels.html"
    tab = "channels"
    title = "Channels"
    description = "Where alerts go: the console, e-mail, signed webhooks, Slack and PagerDuty."

    def get_context_data(self, **kwargs):
        rule_services.alerts_ensure_defaults(self.account)
        context = super().get_context_data(**kwargs)
        channels = list(am.Channel.objects.for_account(self.account))
        failed = am.Delivery.objects.for_account(self.account).filter(status=am.DeliveryStatus.FAILED)
        counts = {}
        for channel_id in failed.values_list("channel_id", flat=True):
            counts[channel_id] = counts.get(channel_id, 0) + 1
        context.update(channels=[{"channel": c, "failed": counts.get(c.pk, 0),
                                  "rules": c.rules.count()} for c in channels],
                       failures=failed.select_related("channel", "event")[:20],
                       form=kwargs.get("form") or ChannelForm(),
                       new_secret=self.request.session.pop("alerts_new_secret", None))
        return context

    def post(self, request, *args, **kwargs):
        form = ChannelForm(request.POST)
        if form.is_valid():
            channel = self.apply(form, lambda: rule_services.channel_create(self.account, self.actor(),
                                                                            **form.service_data()))
            if channel is not None:
                if channel.secret:
                    request.session["alerts_new_secret"] = {"name": channel.name, "secret": channel.secret}
                messages.success(request, f"Added the channel “{channel.name}”.")
                return self.back()
        return self.render_to_response(self.get_context_data(form=form))


class ChannelView(AlertsPage):
    template_name = "console/alerts_channel.html"
    tab = "channels"
    model = am.Channel

    def get_object(self):
        return get_object_or_404(am.Channel.objects.for_account(self.account), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        channel = self.get_object()
        form = kwargs.get("form") or ChannelForm(instance=channel)
        if not self.can_write:
            for field in form.fields.values():
                field.disabled = True
        deliveries = channel.deliveries.select_related("event").order_by("-created_at")[:50]
        context.update(channel=channel, form=form, title=channel.name, deliveries=deliveries,
                       delivery_tones=DELIVERY_TONES,
                       new_secret=self.request.session.pop("alerts_new_secret", None))
        return context

    def post(self, request, *args, **kwargs):
        channel = self.get_object()
        if request.POST.get("action") == "rotate":
            channel = rule_services.channel_rotate_secret(self.account, self.actor(), channel)
            request.session["alerts_new_secret"] = {"name": channel.name, "secret": channel.secret}
            messages.success(request, "A new secret signs every webhook from now on.")
            return self.back()
        form = ChannelForm(request.POST, instance=am.Channel.objects.get(pk=channel.pk))
        if form.is_valid():
            data = form.service_data()
            data.pop("kind", None)
            if self.apply(form, lambda: rule_services.channel_update(self.account, self.actor(), channel, **data)):
                messages.success(request, "Saved the channel.")
                return redirect("alerts-channels", account_slug=self.account.slug)
        return self.render_to_response(self.get_context_data(form=form))


class ChannelDeleteView(AlertsPage):
    model = am.Channel
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        channel = get_object_or_404(am.Channel.objects.for_account(self.account), pk=kwargs["pk"])
        rule_services.channel_delete(self.account, self.actor(), channel)
        messages.success(request, f"Deleted the channel “{channel.name}”.")
        return redirect("alerts-channels", account_slug=self.account.slug)


class DeliveryRetryView(AlertsPage):
    model = am.Delivery
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        delivery = get_object_or_404(am.Delivery.objects.for_account(self.account), pk=kwargs["pk"])
        try:
            delivery_retry(self.account, self.actor(), delivery)
            messages.success(request, "Sending again.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("alerts-channel", account_slug=self.account.slug, pk=delivery.channel_id)


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


# -- SLAs ---------------------------------------------------------------------------------------

class SlaForm(forms.ModelForm):
    class Meta:
        model = am.Sla
        fields = ["name", "objective", "target", "model", "prompt", "window_days", "down_error_rate"]
        labels = {"target": "Target", "window_days": "Window (days)", "down_error_rate": "Down when failing ≥ (%)"}
        help_texts = {"target": "Percent for availability and success rate (e.g. 99.9); milliseconds for p95.",
                      "down_error_rate": "Availability: a minute is down when at least this share of its requests "
                                         "failed."}

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        _account_choices(self, account)
        self.fields["model"].empty_label = "Any model"


def sla_card(sla):
    from alerts.services.slas import sla_report

    report = sla_report(sla)
    unit = "percent" if report["unit"] == "percent" else "ms"
    pct = report["budget_remaining_pct"]
    tone = "neutral" if report["status"] == "no_data" else ("ok" if report["status"] == "meeting" else "bad")
    target = f"≥ {format_value(sla.target, 'percent')}" if unit == "percent" else f"≤ {format_value(sla.target, 'ms')}"
    return {"sla": sla, "report": report, "value": format_value(report["value"], unit), "target": target,
            "tone": tone, "bar": max(0.0, min(100.0, pct)) if pct is not None else 0.0,
            "bar_tone": "bad" if pct is not None and pct < 0 else ("warn" if pct is not None and pct < 25 else ""),
            "remaining": format_value(report["budget_remaining"], "count") if report["budget_unit"] == "requests"
            else f"{report['budget_remaining']:.1f}",
            "total": format_value(report["budget_total"], "count") if report["budget_unit"] == "requests"
            else f"{report['budget_total']:.1f}"}


class SlasView(AlertsPage):
    template_name = "console/sla_list.html"
    tab = "slas"
    title = "SLAs"
    description = "Service level objectives per model or prompt: status, 30-day compliance and error budget."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(cards=[sla_card(s) for s in am.Sla.objects.for_account(self.account).select_related("model")],
                       form=kwargs.get("form") or SlaForm(account=self.account))
        return context

    def post(self, request, *args, **kwargs):
        from alerts.services.slas import sla_create

        form = SlaForm(request.POST, account=self.account)
        if form.is_valid():
            sla = self.apply(form, lambda: sla_create(self.account, self.actor(), **form.cleaned_data))
            if sla is not None:
                messages.success(request, f"Added the SLA “{sla.name}”.")
                return self.back()
        return self.render_to_response(self.get_context_data(form=form))


class SlaView(AlertsPage):
    template_name = "console/sla_detail.html"
    tab = "slas"
    model = am.Sla

    def get_object(self):
        return get_object_or_404(am.Sla.objects.for_account(self.account).select_related("model"),
                                 pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        sla = self.get_object()
        form = kwargs.get("form") or SlaForm(instance=sla, account=self.account)
        if not self.can_write:
            for field in form.fields.values():
                field.disabled = True
        card = sla_card(sla)
        unit = "percent" if card["report"]["unit"] == "percent" else "ms"
        history = [dict(h, shown=format_value(h["value"], unit)) for h in reversed(card["report"]["history"])]
        context.update(card=card, sla=sla, form=form, title=sla.name, history=history)
        return context

    def post(self, request, *args, **kwargs):
        from alerts.services.slas import sla_delete, sla_update

        sla = self.get_object()
        if request.POST.get("action") == "delete":
            sla_delete(self.account, self.actor(), sla)
            messages.success(request, f"Deleted the SLA “{sla.name}”.")
            return redirect("alerts-slas", account_slug=self.account.slug)
        form = SlaForm(request.POST, instance=am.Sla.objects.get(pk=sla.pk), account=self.account)
        if form.is_valid():
            if self.apply(form, lambda: sla_update(self.account, self.actor(), sla, **form.cleaned_data)):
                messages.success(request, "Saved the SLA.")
                return self.back()
        return self.render_to_response(self.get_context_data(form=form))


# -- reports ----------------------------------------------------------------------------------

class ReportForm(forms.ModelForm):
    recipients_text = forms.CharField(label="Recipients", help_text="E-mail addresses separated by commas.")

    class Meta:
        model = am.ReportSchedule
        fields = ["name", "frequency", "send_hour", "enabled"]
        labels = {"send_hour": "Send at (local hour)"}
        help_texts = {"frequency": "Daily: the day before. Weekly: Monday to Sunday, sent on Monday. Monthly: sent "
                                   "on the 1st.", "send_hour": "0–23, in the account's timezone."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["recipients_text"].initial = ", ".join(self.instance.recipients)
        self.order_fields(["name", "frequency", "recipients_text", "send_hour", "enabled"])

    clean_recipients_text = ChannelForm.clean_recipients_text

    def service_data(self):
        data = {k: v for k, v in self.cleaned_data.items() if k != "recipients_text"}
        data["recipients"] = self.cleaned_data["recipients_text"]
        return data


class ReportsPage(AlertsPage):
    tab = "reports"
    write_role = Role.ADMIN


class ReportsView(ReportsPage):
    template_name = "console/reports_list.html"
    title = "Scheduled reports"
    description = "Daily, weekly and monthly e-mails: key metrics against the previous period, trends, alerts, " \
                  "recommendations."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        schedules = am.ReportSchedule.objects.for_account(self.account)
        context.update(schedules=[{"schedule": sc, "last": sc.runs.order_by("-created_at").first()}
                                  for sc in schedules],
                       runs=am.ReportRun.objects.for_account(self.account).select_related("schedule")[:20],
                       form=kwargs.get("form") or ReportForm())
        return context

    def post(self, request, *args, **kwargs):
        from alerts.services.reports import schedule_create

        form = ReportForm(request.POST)
        if form.is_valid():
            schedule = self.apply(form, lambda: schedule_create(self.account, self.actor(), **form.service_data()))
            if schedule is not None:
                messages.success(request, f"Scheduled “{schedule.name}”.")
                return self.back()
        return self.render_to_response(self.get_context_data(form=form))


class ReportView(ReportsPage):
    template_name = "console/reports_detail.html"
    model = am.ReportSchedule

    def get_object(self):
        return get_object_or_404(am.ReportSchedule.objects.for_account(self.account), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        from alerts.services.reports import latest_period

        context = super().get_context_data(**kwargs)
        schedule = self.get_object()
        form = kwargs.get("form") or ReportForm(instance=schedule)
        if not self.can_write:
            for field in form.fields.values():
                field.disabled = True
        today = timezone.now().astimezone(self.account.tzinfo).date()
        start, end = latest_period(schedule.frequency, today)
        context.update(schedule=schedule, form=form, title=schedule.name, runs=schedule.runs.all()[:30],
                       period_start=start, period_last=end - timedelta(days=1))
        return context

    def post(self, request, *args, **kwargs):
        from alerts.services.reports import report_send_now, schedule_delete, schedule_update

        schedule = self.get_object()
        action = request.POST.get("action")
        if action == "send":
            run = report_send_now(self.account, self.actor(), schedule)
            if run.status == am.ReportRun.Status.SENT:
                messages.success(request, f"Sent to {', '.join(run.recipients)}.")
            else:
                messages.error(request, f"Could not send: {run.error}")
            return self.back()
        if action == "delete":
            schedule_delete(self.account, self.actor(), schedule)
            messages.success(request, f"Deleted the report “{schedule.name}”.")
            return redirect("alerts-reports", account_slug=self.account.slug)
        form = ReportForm(request.POST, instance=am.ReportSchedule.objects.get(pk=schedule.pk))
        if form.is_valid():
            if self.apply(form, lambda: schedule_update(self.account, self.actor(), schedule, **form.service_data())):
                messages.success(request, "Saved the report.")
                return self.back()
        return self.render_to_response(self.get_context_data(form=form))


class ReportPreviewView(ReportsPage):
    """The e-mail as recipients would see it (charts inline as data: URIs), for the latest complete period."""

    model = am.ReportSchedule

    def get(self, request, *args, **kwargs):
        from alerts.services.reports import report_preview

        schedule = get_object_or_404(am.ReportSchedule.objects.for_account(self.account), pk=kwargs["pk"])
        response = HttpResponse(report_preview(schedule)["html"])
        response["X-Frame-Options"] = "SAMEORIGIN"
        return response


# -- notifications (the bell) ----------------------------------------------------------------

class NotificationsView(AlertsPage):
    """Every role reads and clears its own notifications."""

    template_name = "console/notifications.html"
    tab = "events"
    title = "Notifications"
    description = "Alerts sent to the console, newest first."
    write_role = Role.VIEWER

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = notifications_for(am.Notification.objects.for_account(self.account), self.request.user.pk)[:100]
        context.update(notifications=rows, severity_tones=SEVERITY_TONES)
        return context

    def post(self, request, *args, **kwargs):
        ids = notifications_for(am.Notification.objects.for_account(self.account), request.user.pk) \
            .filter(read_at__isnull=True).values_list("pk", flat=True)
        count = notifications_mark_read(self.account, request.user, list(ids))
        messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
        return self.back()


class NotificationOpenView(AlertsPage):
    """Mark one notification read and open its event."""

    model = am.Notification
    write_role = Role.VIEWER
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        notification = get_object_or_404(am.Notification.objects.for_account(self.account), pk=kwargs["pk"])
        notifications_mark_read(self.account, request.user, [notification.pk])
        if notification.event_id:
            return redirect("alerts-event", account_slug=self.account.slug, pk=notification.event_id)
        return redirect("notifications", account_slug=self.account.slug)

