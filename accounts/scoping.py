"""The one tenant mechanism for the API.

Every API view inherits `AccountScopedAPIView` or `AccountScopedViewSet`. The base
resolves the account once per request (from the API key, or from the session user
and `X-Account`), enforces key scopes and member roles, and scopes every queryset
to the account *after* the subclass's own filtering. Subclasses cannot override
`get_queryset`; they describe their rows with `queryset` and may narrow them in
`filter_account_queryset`.
"""
from django.db import models
from rest_framework import exceptions, generics, permissions, viewsets

from accounts.authentication import ApiKeyPrincipal
from accounts.models import Account, Membership, Role

SAFE_METHODS = permissions.SAFE_METHODS


def resolve_account(request):
    """(account, membership or None, api key or None) for an authenticated request."""
    user = request.user
    if isinstance(user, ApiKeyPrincipal):
        return user.account, None, user.key
    slug = request.headers.get("X-Account") or request.session.get("account_slug")
    memberships = Membership.objects.select_related("account").filter(user=user)
    if slug:
        membership = memberships.filter(account__slug=slug).first()
        if membership is None:
            # Not a member and no such account are indistinguishable.
            raise exceptions.NotFound("No such account.")
        return membership.account, membership, None
    found = list(memberships[:2])
    if len(found) == 1:
        return found[0].account, found[0], None
    if not found:
        raise exceptions.NotFound("No such account.")
    raise exceptions.ValidationError({"X-Account": ["choose the account with the X-Account header (its slug)"]})


class AccountAccess(permissions.BasePermission):
    """Resolves the account and applies the key-scope and role rules of the view.

    View attributes:
      - `api_key_scopes`: {method-kind: scope} where method-kind is "read" or "write";
        the default lets keys read with `read` and never write.
      - `write_role`: the least member role for unsafe methods (default admin).
      - `action_roles`: per-action override, e.g. {"create": Role.MEMBER}.
    """

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        account, membership, key = resolve_account(request)
        view.account, view.membership, view.api_key = account, membership, key
        request.account = account
        kind = "read" if request.method in SAFE_METHODS else "write"
        if key is not None:
            scope = view.api_key_scopes.get(kind)
            if scope is None:
                raise exceptions.PermissionDenied("API keys cannot do this; use the console.")
            if scope not in key.scopes:
                raise exceptions.PermissionDenied(f"This API key lacks the '{scope}' scope.")
            return True
        if kind == "read":
            return True
        action = getattr(view, "action", None)
        needed = view.action_roles.get(action, view.write_role) if action else view.write_role
        if not Role.at_least(membership.role, needed):
            raise exceptions.PermissionDenied(f"This needs the {needed} role or higher.")
        return True


class _AccountScopedBase:
    permission_classes = [permissions.IsAuthenticated, AccountAccess]
    api_key_scopes = {"read": "read"}
    write_role = Role.ADMIN
    action_roles: dict = {}
    queryset = None
    account: Account
    membership: Membership | None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset(); narrow rows in filter_account_queryset() instead "
                "so the account scope always applies."
            )
        if "get_permissions" in cls.__dict__ or "permission_classes" in cls.__dict__:
            raise TypeError(f"{cls.__name__} may not replace the account permissions; add extra_permission_classes.")

    extra_permission_classes: list = []

    def get_permissions(self):
        return [p() for p in [*_AccountScopedBase.permission_classes, *self.extra_permission_classes]]

    def filter_account_queryset(self, queryset):
        return queryset

    def get_queryset(self):
        if self.queryset is None:
            raise exceptions.NotFound()
        queryset = self.filter_account_queryset(self.queryset.all())
        # The account filter is applied last so no subclass hook can drop it.
        return queryset.filter(account=self.account)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["account"] = getattr(self, "account", None)
        return context

    @property
    def actor(self):
        from accounts.services import Actor

        user = self.request.user
        if isinstance(user, ApiKeyPrincipal):
            return Actor(key=user.key)
        return Actor(user=user)


class AccountScopedAPIView(_AccountScopedBase, generics.GenericAPIView):
    pass


class AccountScopedViewSet(_AccountScopedBase, viewsets.GenericViewSet):
    pass


