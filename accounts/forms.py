import zoneinfo

from django import forms

from accounts.models import Account, ApiKeyScope, Role

TIMEZONES = sorted(zoneinfo.available_timezones())


class AccountSettingsForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=[(tz, tz) for tz in TIMEZONES],
                                 help_text="Daily figures follow this timezone's days.")

    class Meta:
        model = Account
        fields = ["name", "timezone", "retention_days", "store_text"]
        help_texts = {"retention_days": "Raw traces older than this are deleted; rollups stay."}
        labels = {"store_text": "Store input and output text"}


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    scopes = forms.MultipleChoiceField(choices=ApiKeyScope.choices, widget=forms.CheckboxSelectMultiple,
                                       initial=[ApiKeyScope.INGEST])
