"""Which export jobs a reader sees: their own (user or API key); admins and owners see all
of the account's. Everyone else's job is answered as a missing one (404)."""
from accounts.models import Role
from traces.models import ExportJob


def export_jobs_visible(account, *, user=None, key=None, role: str | None = None):
    jobs = ExportJob.objects.for_account(account).select_related("created_by", "api_key")
    if key is not None:
        return jobs.filter(api_key=key)
    if role is not None and Role.at_least(role, Role.ADMIN):
        return jobs
    return jobs.filter(created_by=user)


def export_progress(job: ExportJob) -> int | None:
    """Percent written, or None while the total is not known yet."""
    if job.status == ExportJob.Status.SUCCEEDED:
        return 100
    if not job.rows_total:
        return 0 if job.rows_total == 0 else None
    return min(100, int(100 * job.rows_written / job.rows_total))


def export_creator_label(job: ExportJob) -> str:
    if job.created_by_id:
        return job.created_by.email
    if job.api_key_id:
        return f"key {job.api_key.prefix}"
    return "—"
