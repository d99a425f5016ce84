"""Sign-in throttling around django-axes: the client address it counts, and the record of
failures and lockouts in the security log and in the audit log of the user's accounts."""
import logging

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

log = logging.getLogger("modelpulse.security")


def client_address(request) -> str:
    """REMOTE_ADDR, or behind the TLS proxy the address the proxy saw (last X-Forwarded-For hop)."""
    if settings.BEHIND_TLS_PROXY:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR", "")


def _audit(username: str, action: str, address: str) -> None:
    from accounts.models import Membership
    from accounts.services import Actor, audit_record

    user = get_user_model().objects.filter(username__iexact=username or "").first() if username else None
    if user is None:
        return
    for membership in Membership.objects.filter(user=user).select_related("account"):
        audit_record(membership.account, Actor.system(), action, user, email=user.get_username(),
                     client_address=address)


@receiver(user_login_failed)
def record_failed_sign_in(sender, credentials, request=None, **kwargs):
    username = (credentials or {}).get("username", "")
    address = client_address(request) if request is not None else ""
    log.warning("sign-in failed user=%s client=%s", username, address)
    _audit(username, "auth.sign_in_failed", address)


@receiver(user_locked_out)
def record_lockout(sender, request=None, username=None, ip_address=None, **kwargs):
    log.warning("sign-in locked out user=%s client=%s", username, ip_address)
    _audit(username, "auth.locked_out", ip_address or "")
