import zoneinfo

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models


def validate_timezone(value: str):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not a known IANA timezone")


class TenantQuerySet(models.QuerySet):
    def for_account(self, account):
        """The only sanctioned way to read tenant rows: always scoped to one account."""
        if account is None:
            raise ValueError("for_account() needs an account")
        return self.filter(account=account)


class AccountOwned(models.Model):
    """Base for every tenant-owned row: the account FK and the scoping manager."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Account(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    retention_days = models.PositiveIntegerField(default=90, validators=[MinValueValidator(1)])
    store_text = models.BooleanField(
        default=True, help_text="Store request input/output text. When off, no text is kept."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    traces_deleted_before = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="Retention has deleted raw traces before this instant; rollups of earlier days are final.")

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.slug

    @property
    def tzinfo(self):
        return zoneinfo.ZoneInfo(self.timezone)


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"

    @classmethod
    def rank(cls, role: str) -> int:
        return {cls.VIEWER: 0, cls.MEMBER: 1, cls.ADMIN: 2, cls.OWNER: 3}[role]

    @classmethod
    def at_least(cls, role: str, minimum: str) -> bool:
        return cls.rank(role) >= cls.rank(minimum)


class Membership(AccountOwned):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "user"], name="membership_account_user_uniq")]
        ordering = ["account", "user__email"]

    def __str__(self):
        return f"{self.user} @ {self.account} ({self.role})"


class ApiKeyScope(models.TextChoices):
    INGEST = "ingest"
    READ = "read"


class ApiKey(AccountOwned):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    # The prefix is shown in the console and used to find the row; the secret part is
    # only ever stored as a SHA-256 digest (the key has 190 bits of entropy, so a
    # fast hash is enough and keeps authentication cheap on the ingestion path).
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = ArrayField(models.CharField(max_length=16, choices=ApiKeyScope.choices))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "-created_at"], name="apikey_account_created")]

    def __str__(self):
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AppendOnlyError(Exception):
    """The audit log is append-only: its rows are never changed or deleted (only an account's
    deletion removes that account's rows, see accounts.deletion)."""


class AuditQuerySet(TenantQuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events are never changed")

    def delete(self):
        raise AppendOnlyError("audit events are never deleted")



class AuditEvent(AccountOwned):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="audit_events")
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=128, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # NOTE: the Python guards below stop the ORM; the database trigger of migration 0003 stops
    # everything else (raw SQL, cascades), allowing only the actor references to be cleared
    # when a user or key is deleted, and an account's own rows to go with the account.
    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="audit_account_created")]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit events are never changed")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are never deleted")

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_type}:{self.target_id}"

    @property
    def actor_label(self) -> str:
        if self.actor_user_id:
            return self.actor_user.email or self.actor_user.username
        if self.actor_key_id:
            return f"key {self.actor_key.prefix}"
        return "system"


class AccountDeletion(models.Model):
    """An owner's request to delete an account, and the record that it was done.

    Deliberately not an AccountOwned row and without a foreign key to the account: it is the
    audit entry that outlives the account (the account's own audit log goes with it). It keeps
    who asked, when, what was removed (rows per table, files) and when the owner was told.
    Like the audit log it is never deleted.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    former_account_id = models.BigIntegerField(help_text="The deleted account's id (no foreign key: it is gone).")
    account_slug = models.CharField(max_length=64)
    account_name = models.CharField(max_length=200)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    requested_by_email = models.EmailField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    rows_deleted = models.JSONField(default=dict, blank=True)
    files_deleted = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["former_account_id"], name="account_deletion_former")]

    def __str__(self):
        return f"deletion of {self.account_slug} ({self.status})"

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("account deletion records are kept")
