"""Console forms for account settings, members and API keys (they validate; services write)."""
import zoneinfo
from datetime import datetime

from django import forms

from accounts.models import Account, ApiKeyScope, Role

# Canonical IANA names only (Area/City); aliases such as US/Eastern or EST5EDT would
# double the list without adding a place.
REGIONS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")


def _offset(name: str, now: datetime) -> str:
    offset = now.astimezone(zoneinfo.ZoneInfo(name)).utcoffset()
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def timezone_choices(current: str | None = None):
    """IANA zones grouped by region, each with today's UTC offset (e.g. Asia/Kolkata, UTC+05:30)."""
    now = datetime.now(zoneinfo.ZoneInfo("UTC"))
    names = {n for n in zoneinfo.available_timezones() if n.split("/", 1)[0] in REGIONS and "/" in n}
    groups = {}
    for name in sorted(names):
        groups.setdefault(name.split("/", 1)[0], []).append((name, f"{name.replace('_', ' ')} ({_offset(name, now)})"))
    choices = [("UTC", "UTC")]
    if current and current != "UTC" and current not in names:
        choices.append((current, f"{current} ({_offset(current, now)})"))
    return choices + list(groups.items())


class AccountSettingsForm(forms.ModelForm):
    timezone = forms.ChoiceField(help_text="Daily figures and reports follow this timezone's days.")
    retention_days = forms.IntegerField(
        min_value=1, max_value=3650, label="Retention (days)",
        help_text="Raw traces older than this are deleted; hourly and daily rollups stay.",
    )

    class Meta:
        model = Account
        fields = ["name", "timezone", "retention_days", "store_text"]
        labels = {"name": "Account name", "store_text": "Store input and output text"}
        help_texts = {"store_text": "When off, traces keep their metrics but no prompt or response text."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices(self.instance.timezone if self.instance else None)


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail", widget=forms.EmailInput(attrs={"placeholder": "name@company.com"}))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, required=False,
                           widget=forms.TextInput(attrs={"placeholder": "e.g. production ingest"}))
    scopes = forms.MultipleChoiceField(
        choices=[(ApiKeyScope.INGEST, "Ingest"), (ApiKeyScope.READ, "Read")],
        widget=forms.CheckboxSelectMultiple, initial=[ApiKeyScope.INGEST],
        error_messages={"required": "Choose at least one scope."},
    )
