"""SLA pages: status cards with error budget and daily compliance."""
from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect

from alerts import models as am
from alerts.services.metrics import format_value
from alerts.views.base import AlertsPage, _account_choices


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
        self.fields["objective"].choices = am.SlaObjective.choices
        self.fields["objective"].initial = am.SlaObjective.AVAILABILITY


def sla_card(sla):
    from alerts.services.slas import sla_report

    report = sla_report(sla)
    unit = "percent" if report["unit"] == "percent" else "ms"
    pct = report["budget_remaining_pct"]
    tone = "neutral" if report["status"] == "no_data" else ("ok" if report["status"] == "meeting" else "bad")
    target = f"≥ {format_value(sla.target, 'percent')}" if unit == "percent" else f"≤ {format_value(sla.target, 'ms')}"
    return {"sla": sla, "report": report, "value": format_value(report["value"], unit), "target": target,
            **budget_words(sla, report),
            "tone": tone, "bar": max(0.0, min(100.0, pct)) if pct is not None else 0.0,
            "bar_tone": "bad" if pct is not None and pct < 0 else ("warn" if pct is not None and pct < 25 else ""),
            "remaining": format_value(report["budget_remaining"], "count") if report["budget_unit"] == "requests"
            else f"{report['budget_remaining']:.1f}",
            "total": format_value(report["budget_total"], "count") if report["budget_unit"] == "requests"
            else f"{report['budget_total']:.1f}"}


def _minutes(value) -> str:
    return f"{value:,.1f}".rstrip("0").rstrip(".") + " min"


def budget_words(sla, report) -> dict:
    """The error budget as a person reads it: what is left (or overspent) and what it is made of."""
    remaining, total, used = report["budget_remaining"], report["budget_total"], report["budget_used"]
    share = format_value(100.0 - sla.target, "percent") if report["unit"] == "percent" else "5%"
    if report["budget_unit"] == "minutes":
        amount = _minutes
        what = (f"{_minutes(used)} down of {_minutes(total)} allowed — {share} of the "
                f"{format_value(report['traffic_minutes'], 'count')} minutes with traffic "
                f"(of {format_value(report['window_minutes'], 'count')} in the window)")
    else:
        amount = lambda v: format_value(round(v), "count") + " requests"  # noqa: E731
        kind = "failed" if report["objective"] == "success_rate" else f"slower than {format_value(sla.target, 'ms')}"
        what = (f"{format_value(used, 'count')} {kind} of {format_value(total, 'count')} allowed — {share} of "
                f"{format_value(report['total_requests'], 'count')} requests")
    if report["status"] == "no_data":
        headline = "No traffic"
    elif remaining >= 0:
        headline = f"{amount(remaining)} left"
    else:
        headline = f"Overspent by {amount(-remaining)}"
    return {"budget_headline": headline, "budget_line": what}


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
