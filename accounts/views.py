"""Console pages for the account: settings, members, API keys, audit log."""
import smtplib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_encode
from django.views.generic import TemplateView

from accounts import services
from accounts.console import AccountConsoleMixin
from accounts.errors import ApplicationError
from accounts.forms import AccountSettingsForm, ApiKeyForm, InviteForm, RoleForm
from accounts.models import ApiKey, AuditEvent, Membership, Role

NEW_KEY_SESSION = "new_api_key"


@login_required
def home(request):
    """Send the user to the account they used last, or their first one."""
    memberships = Membership.objects.select_related("account").filter(user=request.user)
    slug = request.session.get("account_slug")
    membership = memberships.filter(account__slug=slug).first() if slug else None
    membership = membership or memberships.order_by("account__name").first()
    if membership is None:
        raise Http404("You are not a member of any account yet.")
    for name in ("overview", "account-settings"):
        try:
            return redirect(reverse(name, kwargs={"account_slug": membership.account.slug}))
        except Exception:  # the overview page arrives with the dashboards
            continue
    raise Http404


@login_required
def account_switch(request, account_slug):
    """Open the same page in another of the user's accounts."""
    membership = Membership.objects.select_related("account").filter(user=request.user,
                                                                      account__slug=account_slug).first()
    if membership is None:
        raise Http404("No such account.")
    target = f"/a/{account_slug}/settings/"
    nxt = request.GET.get("next", "")
    if nxt.startswith("/a/") and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        parts = nxt.split("/", 3)  # ['', 'a', old-slug, rest]
        target = f"/a/{account_slug}/{parts[3] if len(parts) > 3 else ''}"
    return redirect(target)


class ConsolePage(AccountConsoleMixin, TemplateView):
    nav_active = "settings"
    tab = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["nav_active"] = self.nav_active
        context["tab"] = self.tab
        return context

    def back(self):
        return redirect(self.request.path)


class AccountSettingsView(ConsolePage):
    template_name = "console/settings_account.html"
    tab = "account"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = kwargs.get("form") or AccountSettingsForm(instance=self.account)
        if not self.can_write:
            for field in form.fields.values():
                field.disabled = True
        context["form"] = form
        return context

    def post(self, request, *args, **kwargs):
        form = AccountSettingsForm(request.POST, instance=Membership.objects.get(pk=self.membership.pk).account)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        services.account_update_settings(self.account, services.Actor(user=request.user), **form.cleaned_data)
        messages.success(request, "Settings saved.")
        return self.back()


class MembersView(ConsolePage):
    template_name = "console/settings_members.html"
    tab = "members"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["members"] = Membership.objects.for_account(self.account).select_related("user").order_by("user__email")
        context["invite_form"] = kwargs.get("invite_form") or InviteForm()
        context["roles"] = Role.choices
        context["invite_link"] = self.request.session.pop("invite_link", None)
        return context

    def post(self, request, *args, **kwargs):
        form = InviteForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(invite_form=form))
        try:
            membership, needs_password = services.membership_invite(
                self.account, services.Actor(user=request.user), **form.cleaned_data
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return self.back()
        if needs_password:
            link = request.build_absolute_uri(reverse("password_reset_confirm", kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(membership.user.pk)),
                "token": default_token_generator.make_token(membership.user),
            }))
            request.session["invite_link"] = {"email": membership.user.email, "url": link}
            try:
                send_mail(f"You're invited to {self.account.name} on ModelPulse",
                          f"{request.user.email} invited you to {self.account.name}.\n\nSet your password: {link}\n",
                          None, [membership.user.email])
            except (OSError, smtplib.SMTPException):
                messages.error(request, "The invitation e-mail could not be sent; share the link below instead.")
        messages.success(request, f"Invited {membership.user.email} as {membership.role}.")
        return self.back()


class MemberActionView(ConsolePage):
    """POST-only: change a member's role or remove them."""

    model = Membership
    http_method_names = ["post"]
    action = ""

    def post(self, request, *args, **kwargs):
        membership = get_object_or_404(Membership.objects.for_account(self.account), pk=kwargs["pk"])
        actor = services.Actor(user=request.user)
        try:
            if self.action == "role":
                form = RoleForm(request.POST)
                if not form.is_valid():
                    messages.error(request, "Choose a valid role.")
                else:
                    services.membership_change_role(self.account, actor, membership, role=form.cleaned_data["role"])
                    messages.success(request, f"{membership.user.email} is now {form.cleaned_data['role']}.")
            else:
                services.membership_remove(self.account, actor, membership)
                messages.success(request, f"Removed {membership.user.email}.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("account-members", account_slug=self.account.slug)


class ApiKeysView(ConsolePage):
    template_name = "console/settings_keys.html"
    tab = "keys"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["keys"] = ApiKey.objects.for_account(self.account).select_related("created_by")
        context["form"] = kwargs.get("form") or ApiKeyForm()
        # The new key is shown on the page after creation, once: it leaves the session here.
        context["new_key"] = self.request.session.pop(NEW_KEY_SESSION, None)
        return context

    def post(self, request, *args, **kwargs):
        form = ApiKeyForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        key, plaintext = services.api_key_create(self.account, services.Actor(user=request.user),
                                                 **form.cleaned_data)
        request.session[NEW_KEY_SESSION] = {"key": plaintext, "name": key.name, "prefix": key.prefix}
        return self.back()


class ApiKeyRevokeView(ConsolePage):
    model = ApiKey
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        key = get_object_or_404(ApiKey.objects.for_account(self.account), pk=kwargs["pk"])
        services.api_key_revoke(self.account, services.Actor(user=request.user), key)
        messages.success(request, f"Revoked key {key.prefix}…")
        return redirect("account-api-keys", account_slug=self.account.slug)


class AuditLogView(ConsolePage):
    template_name = "console/settings_audit.html"
    tab = "audit"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        events = AuditEvent.objects.for_account(self.account).select_related("actor_user", "actor_key")
        context["page"] = Paginator(events, 50).get_page(self.request.GET.get("page"))
        return context
