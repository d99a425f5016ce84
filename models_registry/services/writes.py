"""Create, change and delete registry rows, with an audit entry for each."""
from django.db import transaction
from django.db.models import ProtectedError

from accounts.errors import ApplicationError
from django.forms.models import model_to_dict

from accounts.services import audit_record


def _plain(instance) -> dict:
    return {k: (str(v) if v is not None and not isinstance(v, (int, bool, str)) else v)
            for k, v in model_to_dict(instance).items() if k != "account"}


@transaction.atomic
def registry_create(account, actor, model_class, **fields):
    instance = model_class(account=account, **fields)
    instance.full_clean()
    instance.save()
    audit_record(account, actor, f"registry.{model_class._meta.model_name}.created", instance, values=_plain(instance))
    return instance


@transaction.atomic
def registry_update(account, actor, instance, **fields):
    if instance.account_id != account.pk:
        raise ValueError("instance belongs to another account")
    before = _plain(instance)
    for name, value in fields.items():
        setattr(instance, name, value)
    instance.full_clean()
    instance.save()
    after = _plain(instance)
    changes = {k: {"from": before[k], "to": after[k]} for k in after if before.get(k) != after[k]}
    if changes:
        audit_record(account, actor, f"registry.{type(instance)._meta.model_name}.changed", instance, changes=changes)
    return instance


@transaction.atomic
def registry_delete(account, actor, instance):
    if instance.account_id != account.pk:
        raise ValueError("instance belongs to another account")
    audit_record(account, actor, f"registry.{type(instance)._meta.model_name}.deleted", instance,
                 values=_plain(instance))
    try:
        with transaction.atomic():
            instance.delete()
    except ProtectedError:
        raise ApplicationError(f"This {type(instance)._meta.verbose_name} has recorded traces and cannot be deleted.",
                               {"detail": ["has traces"]}, status=409)
