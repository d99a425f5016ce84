"""The console's tenant mixin: the account comes from the URL slug and the membership."""
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from accounts.models import Membership, Role


class AccountConsoleMixin(LoginRequiredMixin):
    """Resolve `self.account` from `<account_slug>`; non-members get 404.

    `write_role` is the least role that may POST to the page; viewers see it read-only.
    """

    write_role = Role.ADMIN

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        slug = kwargs.pop("account_slug")
        membership = (
            Membership.objects.select_related("account").filter(user=request.user, account__slug=slug).first()
        )
        if membership is None:
            raise Http404("No such account.")
        self.account = request.account = membership.account
        # Console pages show and read times in the account's timezone.
        timezone.activate(membership.account.tzinfo)
        self.membership = request.membership = membership
        request.session["account_slug"] = slug
        if request.method not in ("GET", "HEAD", "OPTIONS") and not self.can_write:
            raise PermissionDenied("Your role cannot change this.")
        return super().dispatch(request, *args, **kwargs)

    @property
    def can_write(self) -> bool:
        return Role.at_least(self.membership.role, self.write_role)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["account"] = self.account
        context["membership"] = self.membership
        context["can_write"] = self.can_write
        context["user_memberships"] = (
            Membership.objects.select_related("account").filter(user=self.request.user).order_by("account__name")
        )
        return context
