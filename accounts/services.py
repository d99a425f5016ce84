"""Everything that writes accounts, memberships, keys and the audit log."""
import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.errors import ApplicationError
from accounts.models import Account, ApiKey, ApiKeyScope, AuditEvent, Membership, Role

KEY_PREFIX = "mp"
PREFIX_LENGTH = len(KEY_PREFIX) + 1 + 8


@dataclass(frozen=True)
class Actor:
    """Who is acting: a console user, an API key, or the system (commands, tasks)."""

    user: object | None = None
    key: ApiKey | None = None

    @classmethod
    def system(cls):
        return cls()


def audit_record(account: Account, actor: Actor, action: str, target=None, **details) -> AuditEvent:
    return AuditEvent.objects.create(
        account=account,
        actor_user=actor.user if actor.user is not None and actor.user.is_authenticated else None,
        actor_key=actor.key,
        action=action,
        target_type=type(target).__name__ if target is not None else "",
        target_id=str(getattr(target, "pk", "") or "") if target is not None else "",
        details=details,
    )


@transaction.atomic
def account_create(*, slug: str, name: str, owner_email: str, password: str | None = None,
                   timezone_name: str = "UTC") -> tuple[Account, object, bool]:
    """Create an account and its owner; idempotent on slug. Returns (account, owner, created)."""
    account, created = Account.objects.get_or_create(slug=slug, defaults={"name": name, "timezone": timezone_name})
    if created:
        account.full_clean()
    user = user_get_or_create(owner_email, password=password)
    membership, m_created = Membership.objects.get_or_create(
        account=account, user=user, defaults={"role": Role.OWNER}
    )
    if not m_created and membership.role != Role.OWNER:
        membership.role = Role.OWNER
        membership.save(update_fields=["role"])
    if created:
        audit_record(account, Actor.system(), "account.created", account, owner=user.email)
    return account, user, created


def user_get_or_create(email: str, password: str | None = None):
    User = get_user_model()
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first() or User.objects.filter(username=email).first()
    if user is None:
        user = User(username=email, email=email)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


SETTINGS_FIELDS = ("name", "timezone", "retention_days", "store_text")


@transaction.atomic
def account_update_settings(account: Account, actor: Actor, **changes) -> Account:
    before = {}
    for field, value in changes.items():
        if field not in SETTINGS_FIELDS:
            raise ApplicationError(f"'{field}' is not an account setting", {field: ["unknown setting"]})
        old = getattr(account, field)
        if old != value:
            before[field] = old
            setattr(account, field, value)
    if not before:
        return account
    account.full_clean()
    account.save(update_fields=list(before))
    audit_record(account, actor, "account.settings_changed", account,
                 changes={f: {"from": before[f], "to": getattr(account, f)} for f in before})
    if "timezone" in before:
        # Local hours and days moved: rebuild the rollups from raw (A2). Imported here
        # because analytics depends on accounts, not the other way round.
        from analytics.rollups import rollup_rebuild_account

        rollup_rebuild_account(account)
    return account


def _membership_role_guard(account: Account, actor_membership: Membership | None, target_role: str, new_role: str | None):
    """Only owners hand out or take away the owner role (T2: ownership transfer)."""
    actor_is_owner = actor_membership is None or actor_membership.role == Role.OWNER
    if (target_role == Role.OWNER or new_role == Role.OWNER) and not actor_is_owner:
        raise ApplicationError("Only an owner can grant or change the owner role.", {"role": ["owner only"]}, 403)


def _actor_membership(account, actor: Actor):
    if actor.user is None:
        return None
    return Membership.objects.for_account(account).filter(user=actor.user).first()


@transaction.atomic
def membership_invite(account: Account, actor: Actor, *, email: str, role: str = Role.MEMBER) -> tuple[Membership, bool]:
    if role not in Role.values:
        raise ApplicationError("Unknown role.", {"role": [f"must be one of {', '.join(Role.values)}"]})
    _membership_role_guard(account, _actor_membership(account, actor), role, role)
    user = user_get_or_create(email)
    membership, created = Membership.objects.get_or_create(account=account, user=user, defaults={"role": role})
    if not created:
        raise ApplicationError("This person is already a member.", {"email": ["already a member"]})
    audit_record(account, actor, "membership.invited", membership, email=user.email, role=role)
    return membership, not user.has_usable_password()


@transaction.atomic
def membership_change_role(account: Account, actor: Actor, membership: Membership, *, role: str) -> Membership:
    if role not in Role.values:
        raise ApplicationError("Unknown role.", {"role": [f"must be one of {', '.join(Role.values)}"]})
    membership = Membership.objects.for_account(account).select_for_update().get(pk=membership.pk)
    _membership_role_guard(account, _actor_membership(account, actor), membership.role, role)
    if membership.role == Role.OWNER and role != Role.OWNER:
        _ensure_another_owner(account, membership)
    old = membership.role
    if old == role:
        return membership
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(account, actor, "membership.role_changed", membership,
                 email=membership.user.email, **{"from": old, "to": role})
    return membership


@transaction.atomic
def membership_remove(account: Account, actor: Actor, membership: Membership) -> None:
    membership = Membership.objects.for_account(account).select_for_update().get(pk=membership.pk)
    _membership_role_guard(account, _actor_membership(account, actor), membership.role, None)
    if membership.role == Role.OWNER:
        _ensure_another_owner(account, membership)
    audit_record(account, actor, "membership.removed", membership, email=membership.user.email, role=membership.role)
    membership.delete()


def _ensure_another_owner(account, membership):
    others = Membership.objects.for_account(account).filter(role=Role.OWNER).exclude(pk=membership.pk)
    if not others.exists():
        raise ApplicationError("An account needs at least one owner.", {"role": ["last owner"]})


def _hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_create(account: Account, actor: Actor, *, scopes, name: str = "") -> tuple[ApiKey, str]:
    """Create a key; the plaintext is returned here once and never stored."""
    scopes = sorted(set(scopes))
    if not scopes or any(s not in ApiKeyScope.values for s in scopes):
        raise ApplicationError("Invalid scopes.", {"scopes": [f"choose from {', '.join(ApiKeyScope.values)}"]})
    prefix = f"{KEY_PREFIX}_{secrets.token_hex(4)}"
    plaintext = f"{prefix}_{secrets.token_urlsafe(24)}"
    key = ApiKey.objects.create(
        account=account, name=name[:100], prefix=prefix, key_hash=_hash_key(plaintext), scopes=scopes,
        created_by=actor.user if actor.user is not None and actor.user.is_authenticated else None,
    )
    audit_record(account, actor, "api_key.created", key, prefix=prefix, name=key.name, scopes=scopes)
    return key, plaintext


@transaction.atomic
def api_key_revoke(account: Account, actor: Actor, key: ApiKey) -> ApiKey:
    key = ApiKey.objects.for_account(account).select_for_update().get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(account, actor, "api_key.revoked", key, prefix=key.prefix, name=key.name)
    return key


LAST_USED_RESOLUTION_SECONDS = 60


def api_key_authenticate(plaintext: str) -> ApiKey | None:
    """Return the active key for this plaintext, or None. Revocation is checked every call."""
    # Keys look like mp_<8 hex>_<secret>; the secret itself may contain '_'.
    prefix = plaintext[:PREFIX_LENGTH]
    if len(plaintext) <= PREFIX_LENGTH + 1 or plaintext[PREFIX_LENGTH] != "_" or not prefix.startswith(f"{KEY_PREFIX}_"):
        return None
    key = ApiKey.objects.select_related("account").filter(prefix=prefix).first()
    if key is None or key.revoked_at is not None:
        return None
    if not secrets.compare_digest(key.key_hash, _hash_key(plaintext)):
        return None
    now = timezone.now()
    # Write last-used at most once a minute per key: a hot ingestion key would
    # otherwise turn every batch into an extra row update.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() >= LAST_USED_RESOLUTION_SECONDS:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
