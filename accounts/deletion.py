"""Deleting an account (T2: owners only): every row and file of it, in the background.

The request (`account_deletion_request`) is immediate where it matters: in one transaction
it records the request in the account's audit log, revokes every API key and removes every
membership, so from that moment no key and no person reaches the account; then it queues
`accounts.tasks.account_delete_task`. The run (`account_deletion_run`) deletes the export
files, then every row of every model that holds the account (found by walking the models,
so a new tenant model is covered without a change here), chunked so no transaction holds
millions of rows, and finally the audit log and the account itself in one transaction.

What outlives the account is its `AccountDeletion` record: no foreign key to the account,
so the deletion is audited after the account's own audit log is gone (who asked, when,
rows deleted per table, files deleted, when the owner was told). The owner is told by
e-mail when it is done; a failed e-mail is retried by the task, the data stays deleted.
Users are not deleted: a person may belong to other accounts.
"""
import logging
import os
import smtplib
import zlib

from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone

from accounts.errors import ApplicationError
from accounts.models import Account, AccountDeletion, ApiKey, AuditEvent, Membership, Role
from accounts.services import Actor, audit_record
from config import jobs

log = logging.getLogger(__name__)

CHUNK = 5000
MAX_PASSES = 20
EXPORTS_DIR = "exports"


def tenant_models():
    """Every model with a relation named `account` to Account (the audit log last)."""
    found = []
    for model in apps.get_models():
        try:
            field = model._meta.get_field("account")
        except Exception:
            continue
        if field.is_relation and field.related_model is Account and model is not AuditEvent:
            found.append(model)
    return found


# -- the request ---------------------------------------------------------------------------

def account_deletion_request(account: Account, actor: Actor, *, confirm: str) -> AccountDeletion:
    """An owner asks for the account's deletion, confirming with its slug."""
    user = actor.user
    membership = Membership.objects.for_account(account).filter(user=user).first() if user else None
    if membership is None or membership.role != Role.OWNER:
        raise ApplicationError("Only an owner can delete the account.", {"role": ["owner only"]}, 403)
    if (confirm or "").strip() != account.slug:
        raise ApplicationError("Type the account's slug to confirm.",
                               {"confirm": [f"type '{account.slug}' exactly to confirm"]})
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account.pk)
        pending = AccountDeletion.objects.filter(former_account_id=account.pk,
                                                 status__in=[AccountDeletion.Status.QUEUED,
                                                             AccountDeletion.Status.RUNNING]).first()
        if pending is not None:
            return pending
        keys = ApiKey.objects.for_account(account).filter(revoked_at__isnull=True)
        revoked = keys.update(revoked_at=timezone.now())
        members = list(Membership.objects.for_account(account).values_list("user__email", "role"))
        audit_record(account, actor, "account.deletion_requested", account, keys_revoked=revoked,
                     members_removed=len(members))
        Membership.objects.for_account(account).delete()
        deletion = AccountDeletion.objects.create(
            former_account_id=account.pk, account_slug=account.slug, account_name=account.name,
            requested_by=user, requested_by_email=user.email)
        jobs.enqueue_on_commit(jobs.ACCOUNT_DELETE, deletion.pk)
    log.info("account %s (%s): deletion %s requested by %s", account.slug, account.pk, deletion.pk, user.email)
    return deletion


# -- the run ---------------------------------------------------------------------------------

def _delete_files(account_id: int) -> int:
    """Export files of the account: the stored ones (by job, and whatever else is in its
    folder) and any partial file of a run that never finished."""
    from traces.models import ExportJob

    deleted = 0
    for name in ExportJob.objects.filter(account_id=account_id).exclude(file="").values_list("file", flat=True):
        if default_storage.exists(name):
            default_storage.delete(name)
            deleted += 1
    deleted += _delete_tree(f"{EXPORTS_DIR}/{account_id}")
    from traces.exports.services import _partial_dir

    for path in _partial_dir().glob(f"{account_id}-*.part"):
        path.unlink(missing_ok=True)
        deleted += 1
    return deleted


def _delete_tree(folder: str) -> int:
    try:
        dirs, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    deleted = 0
    for name in files:
        default_storage.delete(f"{folder}/{name}")
        deleted += 1
    for name in dirs:
        deleted += _delete_tree(f"{folder}/{name}")
    try:  # local storage: the emptied folders go too
        os.rmdir(default_storage.path(folder))
    except (NotImplementedError, OSError):
        pass
    return deleted


def _delete_rows(account_id: int, counts: dict) -> int:
    """Delete every tenant row of the account, model by model, in chunks. A model whose rows
    are still referenced by a protected relation waits for a later pass."""
    for _ in range(MAX_PASSES):
        remaining = 0
        progress = False
        for model in tenant_models():
            manager = model._base_manager
            while True:
                ids = list(manager.filter(account_id=account_id).values_list("pk", flat=True)[:CHUNK])
                if not ids:
                    break
                try:
                    with transaction.atomic():
                        _, per_model = manager.filter(pk__in=ids).delete()
                except (ProtectedError, RestrictedError):
                    remaining += len(ids)
                    break
                progress = True
                for label, n in per_model.items():
                    counts[label] = counts.get(label, 0) + n
        if remaining == 0:
            return 0
        if not progress:
            break
    raise RuntimeError(f"account {account_id}: rows still referenced after {MAX_PASSES} passes")


def _lock_key(deletion_id: int) -> int:
    return zlib.crc32(f"account-deletion:{deletion_id}".encode())


def account_deletion_run(deletion_id: int) -> AccountDeletion | None:
    """Delete the account of this request, then tell the owner. Safe to run twice or at once:
    a second run waits for nothing (advisory lock) and a finished one only sends the mail."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key(deletion_id)])
        if not cursor.fetchone()[0]:
            log.info("account deletion %s is running elsewhere", deletion_id)
            return None
    try:
        deletion = AccountDeletion.objects.filter(pk=deletion_id).first()
        if deletion is None:
            return None
        if deletion.status != AccountDeletion.Status.DONE:
            _run(deletion)
        if deletion.notified_at is None:
            account_deletion_notify(deletion)
        return deletion
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_key(deletion_id)])


def _run(deletion: AccountDeletion):
    account_id = deletion.former_account_id
    AccountDeletion.objects.filter(pk=deletion.pk).update(
        status=AccountDeletion.Status.RUNNING, started_at=timezone.now(), attempts=deletion.attempts + 1, error="")
    counts = dict(deletion.rows_deleted or {})
    try:
        files = _delete_files(account_id)
        _delete_rows(account_id, counts)
        with transaction.atomic():
            # Writers that add a row for the account take a key-share lock on it: they wait here
            # and then fail, so nothing new appears between the last pass and the account's end.
            if Account.objects.select_for_update().filter(pk=account_id).exists():
                _delete_rows(account_id, counts)
                with connection.cursor() as cursor:
                    # The audit trigger lets this transaction, and only for this account, delete
                    # its audit events (accounts migration 0003).
                    cursor.execute("SELECT set_config('modelpulse.purge_account', %s, true)", [str(account_id)])
                    cursor.execute("DELETE FROM accounts_auditevent WHERE account_id = %s", [account_id])
                    counts[AuditEvent._meta.label] = counts.get(AuditEvent._meta.label, 0) + cursor.rowcount
                    cursor.execute("DELETE FROM accounts_account WHERE id = %s", [account_id])
                    counts[Account._meta.label] = counts.get(Account._meta.label, 0) + cursor.rowcount
    except Exception as exc:
        AccountDeletion.objects.filter(pk=deletion.pk).update(
            status=AccountDeletion.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], rows_deleted=counts)
        raise
    now = timezone.now()
    AccountDeletion.objects.filter(pk=deletion.pk).update(
        status=AccountDeletion.Status.DONE, rows_deleted=counts, files_deleted=deletion.files_deleted + files,
        finished_at=now)
    deletion.refresh_from_db()
    log.info("account %s (%s) deleted: %s rows, %s files", deletion.account_slug, account_id,
             sum(counts.values()), deletion.files_deleted)


def account_deletion_notify(deletion: AccountDeletion):
    """The e-mail to the owner who asked. Raises when the mail server refuses (the task retries)."""
    rows = sum((deletion.rows_deleted or {}).values())
    body = (f"The ModelPulse account {deletion.account_name} ({deletion.account_slug}) has been deleted, as "
            f"{deletion.requested_by_email} asked on {deletion.requested_at:%Y-%m-%d %H:%M} UTC.\n\n"
            f"Deleted: {rows} rows (traces, rollups, registry, alerts, reports, dashboards, budgets, keys, "
            f"members, audit log) and {deletion.files_deleted} export files.\n"
            f"Finished: {deletion.finished_at:%Y-%m-%d %H:%M} UTC.\n\n"
            "Nothing of the account is left to restore. This e-mail is the last message about it.\n")
    message = EmailMessage(f"Your ModelPulse account {deletion.account_name} was deleted", body,
                           from_email=settings.DEFAULT_FROM_EMAIL, to=[deletion.requested_by_email])
    try:
        message.send()
    except (OSError, smtplib.SMTPException) as exc:
        AccountDeletion.objects.filter(pk=deletion.pk).update(error=f"e-mail: {type(exc).__name__}: {exc}"[:2000])
        raise
    AccountDeletion.objects.filter(pk=deletion.pk).update(notified_at=timezone.now(), error="")
