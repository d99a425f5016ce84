"""Celery entry points for accounts (queue: maintenance, the default)."""
import smtplib

from celery import shared_task

from accounts.deletion import account_deletion_run


@shared_task(bind=True, ignore_result=True, max_retries=8)
def account_delete_task(self, deletion_id):
    """Delete an account an owner asked to delete, then e-mail them. The rows and files are
    gone before any e-mail is tried; a mail server that refuses is tried again with backoff,
    and a failed deletion is recorded on its AccountDeletion row (the admin can queue it again)."""
    try:
        account_deletion_run(deletion_id)
    except (OSError, smtplib.SMTPException) as exc:
        raise self.retry(exc=exc, countdown=min(3600, 30 * 2 ** self.request.retries))
