"""Console pages for the account: settings, members, API keys, audit log.

Views stay thin: every change goes through accounts.services, which also writes the audit log.
"""
import smtplib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import PasswordResetConfirmView
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse, reverse_lazy
from django.utils.encoding import force_bytes
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_encode
from django.views.generic import TemplateView

from accounts import services
from accounts.deletion import account_deletion_request
from accounts.console import AccountConsoleMixin
from accounts.errors import ApplicationError
from accounts.forms import AccountSettingsForm, ApiKeyForm, InviteForm, RoleForm
from accounts.models import Account, ApiKey, AuditEvent, Membership, Role
from outbox.headers import account_headers

NEW_KEY_SESSION = "new_api_key"
INVITE_LINK_SESSION = "invite_link"
# The first page that exists wins: the overview arrives with the dashboards.
HOME_PAGES = ("overview", "account-settings")
AUDIT_PAGE_SIZE = 50


@login_required
def home(request):
    """Send the user to the account they used last, or their first one."""
    memberships = Membership.objects.select_related("account").filter(user=request.user)
    slug = request.session.get("account_slug")
    membership = memberships.filter(account__slug=slug).first() if slug else None
    membership = membership or memberships.order_by("account__name").first()
    if membership is None:
        return render(request, "console/no_account.html", status=200)
    for name in HOME_PAGES:
        try:
            return redirect(reverse(name, kwargs={"account_slug": membership.account.slug}))
        except NoReverseMatch:
            continue
    raise NoReverseMatch("no console home page is installed")


@login_required
def account_switch(request, account_slug):
    """Open the same page in another of the user's accounts."""
    if not Membership.objects.filter(user=request.user, account__slug=account_slug).exists():
        raise Http404("No such account.")
    target = reverse(HOME_PAGES[-1], kwargs={"account_slug": account_slug})
    nxt = request.GET.get("next", "")
    if nxt.startswith("/a/") and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        parts = nxt.split("/", 3)  # ['', 'a', old-slug, rest]
        rest = parts[3] if len(parts) > 3 else ""
        # Object pages (…/<id>/…) name rows of the old account: open their list instead.
        kept = []
        for part in rest.split("/"):
            if part.isdigit():
                break
            kept.append(part)
        rest = "/".join(p for p in kept if p)
        target = f"/a/{account_slug}/{rest}/" if rest else target
    return redirect(target)


class SetPasswordView(PasswordResetConfirmView):
    """The one-time link of an invitation: set a password and go straight into the console."""

    post_reset_login = True
    # Sign-in throttling adds a second authentication backend; the new password was just set
    # through the model backend, so the session is bound to it.
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("home")

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        form.fields["new_password1"].label = "Password"
        form.fields["new_password1"].help_text = "At least 8 characters, and not a common password."
        form.fields["new_password2"].label = "Confirm password"
        form.fields["new_password2"].help_text = ""
        return form

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set. Welcome to ModelPulse.")
        return response


class ConsolePage(AccountConsoleMixin, TemplateView):
    """A console page: sidebar entry, settings tab, and the page header's title and line."""

    nav_active = "settings"
    tab = ""
    title = ""
    description = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(nav_active=self.nav_active, tab=self.tab, title=self.title, description=self.description)
        return context

    def actor(self):
        return services.Actor(user=self.request.user)

    def back(self):
        return redirect(self.request.path)


class AccountSettingsView(ConsolePage):
    template_name = "console/settings_account.html"
    tab = "account"
    title = "Account"
    description = "The account's name, the timezone its days follow, and how long raw traces are kept."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = kwargs.get("form") or AccountSettingsForm(instance=self.account)
        if not self.can_write:
            for field in form.fields.values():
                field.disabled = True
        context["form"] = form
        context["member_count"] = Membership.objects.for_account(self.account).count()
        context["active_keys"] = ApiKey.objects.for_account(self.account).filter(revoked_at__isnull=True).count()
        context["is_owner"] = self.membership.role == Role.OWNER
        context["delete_errors"] = kwargs.get("delete_errors")
        return context

    def post(self, request, *args, **kwargs):
        # The form validates a copy, so the service still sees the stored values to compare against.
        form = AccountSettingsForm(request.POST, instance=Account.objects.get(pk=self.account.pk))
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        try:
            services.account_update_settings(self.account, self.actor(), **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return self.back()
        messages.success(request, "Settings saved.")
        return self.back()


class AccountDeleteView(AccountSettingsView):
    """POST-only, owners: the danger zone's form. The slug typed must match; the deletion runs
    in the background (accounts.deletion) and the owner is e-mailed when it is done."""

    write_role = Role.OWNER
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        try:
            deletion = account_deletion_request(self.account, self.actor(), confirm=request.POST.get("confirm", ""))
        except ApplicationError as exc:
            context = self.get_context_data(delete_errors=exc.errors.get("confirm") or [exc.message])
            return self.render_to_response(context, status=exc.status)
        request.session.pop("account_slug", None)
        messages.success(request, f"{deletion.account_name} is being deleted. Nobody can open it any more; "
                                  f"{deletion.requested_by_email} gets an e-mail when every row and file is gone.")
        return redirect("home")


class MembersView(ConsolePage):
    template_name = "console/settings_members.html"
    tab = "members"
    title = "Members"
    description = "Who can see this account and what each person may change."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["members"] = Membership.objects.for_account(self.account).select_related("user").order_by("user__email")
        is_owner = self.membership.role == Role.OWNER
        # Only owners hand out the owner role; others aren't offered it (the service enforces it).
        roles = [(v, label) for v, label in Role.choices if is_owner or v != Role.OWNER]
        invite_form = kwargs.get("invite_form") or InviteForm()
        invite_form.fields["role"].choices = roles
        context.update(invite_form=invite_form, roles=roles, is_owner=is_owner)
        context["invite_link"] = self.request.session.pop(INVITE_LINK_SESSION, None)
        return context

    def post(self, request, *args, **kwargs):
        form = InviteForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(invite_form=form))
        try:
            membership, needs_password = services.membership_invite(self.account, self.actor(), **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return self.back()
        user = membership.user
        subject = f"You're invited to {self.account.name} on ModelPulse"
        if needs_password:
            link = request.build_absolute_uri(reverse("password_reset_confirm", kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            }))
            # Shown once to the inviter as well, for when mail does not arrive.
            request.session[INVITE_LINK_SESSION] = {"email": user.email, "url": link}
            body = (f"{request.user.email} invited you to {self.account.name} on ModelPulse as {membership.role}.\n\n"
                    f"Set your password to sign in:\n{link}\n\nThe link works once.\n")
        else:
            body = (f"{request.user.email} gave you access to {self.account.name} on ModelPulse as {membership.role}.\n\n"
                    f"Sign in: {request.build_absolute_uri(reverse('login'))}\n")
        try:
            EmailMessage(subject, body, to=[user.email], headers=account_headers(self.account)).send()
        except (OSError, smtplib.SMTPException):
            messages.error(request, "The invitation e-mail could not be sent"
                           + ("; share the link below instead." if needs_password else "."))
        messages.success(request, f"Invited {user.email} as {membership.role}.")
        return self.back()


class MemberActionView(ConsolePage):
    """POST-only: change a member's role or remove them."""

    model = Membership
    http_method_names = ["post"]
    action = ""

    def post(self, request, *args, **kwargs):
        membership = get_object_or_404(Membership.objects.for_account(self.account).select_related("user"),
                                       pk=kwargs["pk"])
        email = membership.user.email
        try:
            if self.action == "role":
                form = RoleForm(request.POST)
                if not form.is_valid():
                    messages.error(request, "Choose a valid role.")
                else:
                    role = form.cleaned_data["role"]
                    services.membership_change_role(self.account, self.actor(), membership, role=role)
                    messages.success(request, f"{email} is now {role}.")
            else:
                services.membership_remove(self.account, self.actor(), membership)
                messages.success(request, f"Removed {email} from {self.account.name}.")
                if membership.user_id == request.user.id:
                    # Leaving the account: its pages are gone for this user now.
                    request.session.pop("account_slug", None)
                    return redirect("home")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("account-members", account_slug=self.account.slug)


class ApiKeysView(ConsolePage):
    template_name = "console/settings_keys.html"
    tab = "keys"
    title = "API keys"
    description = "Keys let your applications send traces and read metrics through the API."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["keys"] = ApiKey.objects.for_account(self.account).select_related("created_by")
        context["form"] = kwargs.get("form") or ApiKeyForm()
        # The new key is shown on the page after creation, once: it leaves the session here.
        context["new_key"] = self.request.session.pop(NEW_KEY_SESSION, None)
        context["api_base"] = self.request.build_absolute_uri("/api/v1/")
        return context

    def post(self, request, *args, **kwargs):
        form = ApiKeyForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        try:
            key, plaintext = services.api_key_create(self.account, self.actor(), **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return self.back()
        request.session[NEW_KEY_SESSION] = {"key": plaintext, "name": key.name, "prefix": key.prefix,
                                            "scopes": key.scopes}
        return self.back()


class ApiKeyRevokeView(ConsolePage):
    model = ApiKey
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        key = get_object_or_404(ApiKey.objects.for_account(self.account), pk=kwargs["pk"])
        services.api_key_revoke(self.account, self.actor(), key)
        messages.success(request, f"Revoked {key.name or 'key'} ({key.prefix}…). It stops working at once.")
        return redirect("account-api-keys", account_slug=self.account.slug)


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)


def audit_details(details: dict) -> list[tuple[str, str]]:
    """An audit event's details as (label, text) pairs a person can read."""
    pairs = []
    for key, value in (details or {}).items():
        if key == "changes" and isinstance(value, dict):
            for field, change in value.items():
                if isinstance(change, dict) and {"from", "to"} <= set(change):
                    pairs.append((field, f"{_text(change['from'])} → {_text(change['to'])}"))
                else:
                    pairs.append((field, _text(change)))
        elif key == "values" and isinstance(value, dict):
            pairs += [(k, _text(v)) for k, v in value.items() if v not in (None, "", [])]
        elif key in ("from", "to") and {"from", "to"} <= set(details):
            if key == "from":
                pairs.append(("role", f"{_text(details['from'])} → {_text(details['to'])}"))
        else:
            pairs.append((key, _text(value)))
    return pairs


def audit_tone(action: str) -> str:
    verb = action.rsplit(".", 1)[-1]
    if verb in ("created", "invited"):
        return "ok"
    if verb in ("revoked", "removed", "deleted", "failed"):
        return "bad"
    return "info"


class AuditLogView(ConsolePage):
    template_name = "console/settings_audit.html"
    tab = "audit"
    title = "Audit log"
    description = "Who changed keys, members, roles, settings and the registry, and when."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        events = AuditEvent.objects.for_account(self.account).select_related("actor_user", "actor_key")
        actions = list(AuditEvent.objects.for_account(self.account).order_by("action")
                       .values_list("action", flat=True).distinct())
        action = self.request.GET.get("action", "")
        if action:
            events = events.filter(action=action)
        page = Paginator(events, AUDIT_PAGE_SIZE).get_page(self.request.GET.get("page"))
        context.update(
            page=page, actions=actions, action=action,
            rows=[{"event": e, "details": audit_details(e.details), "tone": audit_tone(e.action)}
                  for e in page.object_list],
        )
        return context
