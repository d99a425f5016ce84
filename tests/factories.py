"""One factory per tenant-owned model, and samples for URL kwargs.

The isolation walk (tests/accounts/test_isolation.py) builds one of everything for an
account with these and fails when a tenant model or a URL kwarg has no entry here.
FACTORIES: Model -> function(account, marker) -> saved instance (marker in a text field).
URL_KWARGS: kwarg name -> function(world) -> value, world = {Model: instance} for account A.
"""
from accounts.models import ApiKey, AuditEvent, Membership, Role
from accounts.services import Actor, api_key_create, audit_record, membership_invite


def _membership(account, marker):
    membership, _ = membership_invite(account, Actor.system(), email=f"{marker.lower()}-m@{account.slug}.test",
                                      role=Role.MEMBER)
    return membership


def _api_key(account, marker):
    return api_key_create(account, Actor.system(), scopes=["read"], name=marker)[0]


def _audit(account, marker):
    return audit_record(account, Actor.system(), "test.marker", None, note=marker)


FACTORIES = {
    Membership: _membership,
    ApiKey: _api_key,
    AuditEvent: _audit,
}

URL_KWARGS = {}
