"""A rule's action (L8) on the rule's page: what to ask the automation, on which transitions."""
from django import forms
from django.contrib import messages
from django.shortcuts import redirect

from alerts import models as am
from alerts.services import actions as services
from models_registry.models import Deployment, DeploymentVersion, Model


class RuleActionForm(forms.ModelForm):
    class Meta:
        model = am.RuleAction
        fields = ["kind", "channel", "deployment", "version", "model", "replicas", "on_fired", "on_resolved"]
        labels = {"kind": "Action", "channel": "Send to (webhook channel)", "model": "Switch to model",
                  "version": "Roll back to", "replicas": "Replicas to add or remove",
                  "on_fired": "When the rule fires", "on_resolved": "When the event resolves"}

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = am.Channel.objects.for_account(account).filter(kind=am.ChannelKind.WEBHOOK)
        self.fields["deployment"].queryset = Deployment.objects.for_account(account).select_related("model")
        self.fields["version"].queryset = DeploymentVersion.objects.for_account(account).select_related("deployment")
        self.fields["model"].queryset = Model.objects.for_account(account)
        self.fields["version"].empty_label = "The version before the running one"
        for name in ("deployment", "model"):
            self.fields[name].empty_label = "—"


class RuleActionMixin:
    """The rule page's action card: its context, and its form posted with `form=action`."""

    def action_context(self, rule, form=None) -> dict:
        action = am.RuleAction.objects.for_account(self.account).filter(rule=rule).first()
        form = form or RuleActionForm(instance=action, account=self.account)
        if not self.can_write:
            for field in form.fields.values():
                field.disabled = True
        return {"rule_action": action, "action_form": form,
                "has_webhook_channel": am.Channel.objects.for_account(self.account)
                .filter(kind=am.ChannelKind.WEBHOOK).exists()}

    def post_action(self, request, rule):
        action = am.RuleAction.objects.for_account(self.account).filter(rule=rule).first()
        if request.POST.get("do") == "remove":
            if action is not None:
                services.rule_action_delete(self.account, self.actor(), action)
                messages.success(request, "Removed the action.")
            return redirect("alerts-rule", account_slug=self.account.slug, pk=rule.pk)
        form = RuleActionForm(request.POST, instance=action, account=self.account)
        if form.is_valid():
            data = dict(form.cleaned_data)
            call = (lambda: services.rule_action_update(self.account, self.actor(), action, **data)) if action \
                else (lambda: services.rule_action_create(self.account, self.actor(), rule=rule, **data))
            if self.apply(form, call) is not None:
                messages.success(request, "Saved the action: it is sent with the transitions you chose.")
                return redirect("alerts-rule", account_slug=self.account.slug, pk=rule.pk)
        return self.render_to_response(self.get_context_data(action_form=form))
