"""Console Settings › Redaction: the account's redaction rules (I7). Owners and admins
create, test on sample text and delete; other members read. Writes go through
traces.services.redaction, which validates and audits as the API does."""
from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect

from accounts.errors import ApplicationError
from accounts.views import ConsolePage
from traces.models import RedactionRule
from traces.services.redaction import (
    BUILTIN, SAMPLE_MAX, redaction_preview, redaction_rule_create, redaction_rule_delete,
)

KIND_HELP = {
    "email": "E-mail addresses",
    "phone": "Phone numbers of 7 digits or more",
    "card": "Card numbers (13–19 digits, spaces or dashes allowed)",
    "regex": "Your own regular expression",
}


class RedactionRuleForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, f"{k} — {KIND_HELP[k]}") for k in RedactionRule.Kind.values])
    pattern = forms.CharField(required=False, max_length=500, label="Pattern (regex only)",
                              widget=forms.TextInput(attrs={"placeholder": r"e.g. ACCT-\d{6}", "spellcheck": "false"}))
    replacement = forms.CharField(required=False, max_length=100,
                                  widget=forms.TextInput(attrs={"placeholder": "[REDACTED:<kind>]"}))
    sample = forms.CharField(required=False, max_length=SAMPLE_MAX, label="Sample text",
                             widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false",
                                                          "placeholder": "Paste text to see what would be stored"}))

    def clean(self):
        data = super().clean()
        if data.get("kind") == RedactionRule.Kind.REGEX and not data.get("pattern"):
            self.add_error("pattern", "A regex rule needs a pattern.")
        return data


class RedactionRulesView(ConsolePage):
    template_name = "console/settings_redaction.html"
    tab = "redaction"
    title = "Redaction"
    description = "Rules applied to input and output text before it is stored: nothing they match is ever kept."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rules"] = RedactionRule.objects.for_account(self.account)
        context["form"] = kwargs.get("form") or RedactionRuleForm(initial={"kind": "regex"})
        context["preview"] = kwargs.get("preview")
        context["builtin"] = BUILTIN
        return context

    def post(self, request, *args, **kwargs):
        form = RedactionRuleForm(request.POST)
        intent = request.POST.get("intent", "create")
        if form.is_valid():
            data = form.cleaned_data
            try:
                if intent == "test":
                    preview = redaction_preview(self.account, kind=data["kind"], pattern=data["pattern"],
                                                replacement=data["replacement"], sample=data["sample"])
                    return self.render_to_response(self.get_context_data(form=form, preview=preview))
                redaction_rule_create(self.account, self.actor(), kind=data["kind"], pattern=data["pattern"],
                                      replacement=data["replacement"])
            except ApplicationError as exc:
                for field, errors in (exc.errors or {"kind": [exc.message]}).items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, "Redaction rule added. It applies to traces stored from now on.")
                return self.back()
        # Bad input: the page again, the field named, and a 400.
        return self.render_to_response(self.get_context_data(form=form), status=400)


class RedactionRuleDeleteView(ConsolePage):
    model = RedactionRule
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        rule = get_object_or_404(RedactionRule.objects.for_account(self.account), pk=kwargs["pk"])
        redaction_rule_delete(self.account, self.actor(), rule)
        messages.success(request, "Redaction rule deleted. Text already stored is not changed.")
        return redirect("account-redaction", account_slug=self.account.slug)
