"""A new account gets the pre-built dashboards (accounts that existed before got them by
migration). The receiver only calls the service; it runs in the account's transaction,
so a rolled-back account leaves no dashboards behind."""
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import Account


@receiver(post_save, sender=Account, dispatch_uid="dashboards_prebuilt_for_new_account")
def _prebuilt_for_new_account(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        from dashboards.services import dashboards_create_prebuilt

        dashboards_create_prebuilt(instance)
