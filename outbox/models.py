from django.contrib.postgres.fields import ArrayField
from django.db import models

from accounts.models import Account, AccountOwned


class OutboxMessage(AccountOwned):
    """A message the local SMTP outbox received, kept whole (raw MIME) for display.

    The account comes from the X-ModelPulse-Account header the product sets on every mail
    it sends for an account; mail without it (or naming no known account) is kept with no
    account and is seen in the Django admin only.
    """

    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    sender = models.CharField(max_length=320, blank=True)
    recipients = ArrayField(models.CharField(max_length=320), default=list)
    subject = models.CharField(max_length=998, blank=True)
    message_id = models.CharField(max_length=998, blank=True)
    raw = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["account", "-received_at"], name="outbox_account_received")]

    def __str__(self):
        return f"{self.received_at:%Y-%m-%d %H:%M} {self.subject}"
