"""Console pages of budgets (D10): the list with this month's tracking, and one budget's page."""
from datetime import date

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect

from accounts.errors import ApplicationError
from accounts.models import Role
from accounts.views import ConsolePage
from alerts.models import Channel
from alerts.services.metrics import format_value
from budgets import services
from budgets.models import Budget
from budgets.selectors import budget_status
from models_registry.models import Model

STATE_TONES = {"ok": "ok", "projected_overrun": "warn", "warning": "warn", "exceeded": "bad"}
STATE_LABELS = {"ok": "on track", "projected_overrun": "projected overrun", "warning": "80 % spent",
                "exceeded": "exceeded"}


class BudgetForm(forms.ModelForm):
    class Meta:
        model = Budget
        fields = ["name", "scope", "model", "prompt", "amount_usd", "channels"]
        labels = {"amount_usd": "Monthly amount (USD)", "scope": "Covers"}
        widgets = {"channels": forms.CheckboxSelectMultiple}

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = Model.objects.for_account(account)
        self.fields["model"].empty_label = "—"
        self.fields["channels"].queryset = Channel.objects.for_account(account)
        self.fields["channels"].required = False
        self.fields["prompt"].help_text = "Prompt budgets: the prompt's name as sent in traces."

    def clean(self):
        # Field errors before the model's scope constraint would report one for the whole form.
        data = super().clean()
        scope, model, prompt = data.get("scope"), data.get("model"), (data.get("prompt") or "").strip()
        if scope == "model" and model is None:
            self.add_error("model", "required when scope is model")
        if scope == "prompt" and not prompt:
            self.add_error("prompt", "required when scope is prompt")
        if scope != "model" and model is not None:
            self.add_error("model", f"must be empty when scope is {scope}")
        if scope != "prompt" and prompt:
            self.add_error("prompt", f"must be empty when scope is {scope}")
        return data

    def service_data(self):
        data = dict(self.cleaned_data)
        data["channels"] = list(data.get("channels") or [])
        return data


def money(value):
    return format_value(value, "usd") if value is not None else "—"


def budget_card(budget, status=None):
    status = status or budget_status(budget, days=False)
    year, month = (int(x) for x in status["month"].split("-"))
    return {"budget": budget, "status": status, "tone": STATE_TONES[status["state"]],
            "month": date(year, month, 1).strftime("%B %Y"),
            "state": STATE_LABELS[status["state"]], "spent": money(status["spent_usd"]),
            "amount": money(status["amount_usd"]), "remaining": money(status["remaining_usd"]),
            "burn": money(status["burn_rate_usd_per_day"]), "projected": money(status["projected_usd"]),
            "bar": max(0.0, min(100.0, status["percent_used"])),
            "projected_bar": max(0.0, min(100.0, status["projected_percent"] or 0.0))}


class BudgetsPageBase(ConsolePage):
    nav_active = "budgets"
    write_role = Role.MEMBER

    def apply(self, form, call):
        try:
            return call()
        except ApplicationError as exc:
            placed = False
            for field, errors in (exc.errors or {}).items():
                if field in form.fields:
                    form.add_error(field, [str(e) for e in errors])
                    placed = True
            if not placed:
                form.add_error(None, exc.message)
            return None


class BudgetsPage(BudgetsPageBase):
    template_name = "console/budgets.html"
    title = "Budgets"
    description = ("Monthly spend budgets for the account, a model or a prompt: spent, remaining, burn rate and "
                   "the projected month-end, with alerts at 80 %, 100 % and on a projected overrun.")

    def get_context_data(self, **kwargs):
        from alerts.services.rules import alerts_ensure_defaults

        alerts_ensure_defaults(self.account)  # the console-notifications channel is offered from the start
        context = super().get_context_data(**kwargs)
        budgets = Budget.objects.for_account(self.account).select_related("model", "account")
        context.update(cards=[budget_card(b) for b in budgets],
                       form=kwargs.get("form") or BudgetForm(account=self.account))
        return context

    def post(self, request, *args, **kwargs):
        form = BudgetForm(request.POST, account=self.account)
        if form.is_valid():
            budget = self.apply(form, lambda: services.budget_create(self.account, self.actor(),
                                                                     **form.service_data()))
            if budget is not None:
                messages.success(request, f"Added the budget “{budget.name}”.")
                return self.back()
        return self.render_to_response(self.get_context_data(form=form))


class BudgetPage(BudgetsPageBase):
    template_name = "console/budget_detail.html"
    model = Budget

    def get_object(self):
        return get_object_or_404(Budget.objects.for_account(self.account).select_related("model", "account"),
                                 pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        budget = self.get_object()
        form = kwargs.get("form") or BudgetForm(instance=budget, account=self.account)
        if not self.can_write:
            for field in form.fields.values():
                field.disabled = True
        status = budget_status(budget)
        days = [dict(d, spent=money(d["spent_usd"]), cumulative=money(d["cumulative_usd"]))
                for d in reversed(status["days"])]
        context.update(card=budget_card(budget, status), budget=budget, form=form, title=budget.name,
                       description=f"Budget of {budget.target_label()}, month by month in {budget.account.timezone}.",
                       days=days)
        return context

    def post(self, request, *args, **kwargs):
        budget = self.get_object()
        if request.POST.get("action") == "delete":
            services.budget_delete(self.account, self.actor(), budget)
            messages.success(request, f"Deleted the budget “{budget.name}”.")
            return redirect("budgets", account_slug=self.account.slug)
        form = BudgetForm(request.POST, instance=Budget.objects.get(pk=budget.pk), account=self.account)
        if form.is_valid():
            data = form.service_data()
            if self.apply(form, lambda: services.budget_update(self.account, self.actor(), budget, **data)):
                messages.success(request, "Saved the budget.")
                return self.back()
        return self.render_to_response(self.get_context_data(form=form))
