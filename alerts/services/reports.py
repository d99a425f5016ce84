"""Scheduled reports (L7): daily, weekly (ISO week) and monthly e-mails per account.

A period is the account's local day, Monday-to-Sunday week or calendar month. Once it has ended,
the report is sent at `send_hour` local time the next day (the Monday, the 1st). Each scheduled
send is a ReportRun row, unique per (schedule, period start): a beat run that repeats, overlaps
or comes back after a restart finds the row and sends nothing twice. Every figure is read through
the metrics layer for this account only.

A run is `sending` while queued or being sent (under its row lock), then `sent` or `failed`
with the reason. A failed run is tried again at `next_attempt_at` (REPORT_RETRY_SECONDS,
doubling) up to MAX_ATTEMPTS times, or at once by "retry now"; `reports_recover` queues the
retries that are due and the runs whose worker died mid-send.
"""
import base64
from datetime import datetime, time, timedelta
from email.mime.image import MIMEImage

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.errors import ApplicationError
from accounts.services import audit_record
from alerts.models import AlertEvent, ReportFrequency, ReportRun, ReportSchedule, Severity, Sla
from alerts.services import charts
from alerts.services.metrics import format_value
from alerts.services.notify import console_url
from outbox.headers import account_headers
from analytics.buckets import day_start
from analytics.selectors import Selection, metrics_breakdown, metrics_summary, metrics_timeseries
from config import jobs
from config.replica_reads import replica_reads

MAX_ATTEMPTS = 3
# (metric, label, unit, better when higher: True / False / None for neutral)
KEY_METRICS = [
    ("total_requests", "Requests", "count", None),
    ("success_rate", "Success rate", "percent", True),
    ("error_rate", "Error rate", "percent", False),
    ("p95_latency_ms", "p95 latency", "ms", False),
    ("avg_latency_ms", "Average latency", "ms", False),
    ("total_tokens", "Tokens", "count", None),
    ("total_cost_usd", "Cost", "usd", False),
    ("cost_per_request_usd", "Cost per request", "usd", False),
    ("active_users", "Active users", "count", True),
    ("avg_rating", "Average rating", "", True),
]
MIN_REQUESTS_TO_COMPARE = 10


# -- periods ----------------------------------------------------------------------------------

def latest_period(frequency: str, today):
    """(start, end) local dates of the last complete period before `today` (end exclusive)."""
    if frequency == ReportFrequency.DAILY:
        return today - timedelta(days=1), today
    if frequency == ReportFrequency.WEEKLY:
        monday = today - timedelta(days=today.weekday())
        return monday - timedelta(days=7), monday
    first = today.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1), first


def previous_period(frequency: str, start, end):
    if frequency == ReportFrequency.MONTHLY:
        return (start - timedelta(days=1)).replace(day=1), start
    return start - (end - start), start


def send_time(schedule: ReportSchedule, period_end) -> datetime:
    return datetime.combine(period_end, time(schedule.send_hour), tzinfo=schedule.account.tzinfo)


# -- content ----------------------------------------------------------------------------------

def _change(cur, prev, unit):
    if cur is None or prev is None:
        return None
    if unit == "percent":
        return {"kind": "pp", "value": cur - prev}
    if prev == 0:
        return None
    return {"kind": "pct", "value": 100.0 * (cur - prev) / prev}


def _tone(change, better):
    if change is None or better is None or abs(change["value"]) < 1e-9:
        return "neutral"
    return "good" if (change["value"] > 0) == better else "bad"


def _change_text(change):
    if change is None:
        return "—"
    sign = "+" if change["value"] > 0 else ("−" if change["value"] < 0 else "±")
    return f"{sign}{abs(change['value']):.1f}{' pp' if change['kind'] == 'pp' else '%'}"


def _worse_versions(account, dim, cur_sel, prev_sel):
    before = {r["key"]: r for r in metrics_breakdown(prev_sel, dim) if r["key"]}
    found = []
    for row in metrics_breakdown(cur_sel, dim):
        old = before.get(row["key"])
        if not row["key"] or old is None or min(row["total_requests"], old["total_requests"]) < MIN_REQUESTS_TO_COMPARE:
            continue
        err = row["error_rate"] - old["error_rate"]
        lat = (row["p95_latency_ms"] or 0) - (old["p95_latency_ms"] or 0)
        rel = lat / old["p95_latency_ms"] if old["p95_latency_ms"] else 0
        if err >= 1.0 or rel >= 0.2:
            found.append((err + 100 * rel, dim, row, old, err, rel))
    return found


def recommendations(account, cur_sel, prev_sel, current) -> list[str]:
    tips = []
    prompts = [r for r in metrics_breakdown(cur_sel, "prompt") if r["key"] and r["total_cost_usd"] > 0]
    if prompts:
        top = max(prompts, key=lambda r: r["total_cost_usd"])
        share = 100.0 * top["total_cost_usd"] / current["total_cost_usd"] if current["total_cost_usd"] else 0
        tips.append(f"The most expensive prompt is “{top['key']}”: {format_value(top['total_cost_usd'], 'usd')} "
                    f"({share:.0f}% of the cost, {top['total_requests']:,} requests). Shorter prompts or outputs, "
                    "caching or a cheaper model would save the most there.")
    models = [r for r in metrics_breakdown(cur_sel, "model") if r["key"] and r["p95_latency_ms"] is not None
              and r["total_requests"] >= MIN_REQUESTS_TO_COMPARE]
    if len(models) > 1 or (models and (models[0]["p95_latency_ms"] or 0) > 2000):
        slow = max(models, key=lambda r: r["p95_latency_ms"])
        tips.append(f"The slowest model is {slow['key']}: p95 {format_value(slow['p95_latency_ms'], 'ms')} over "
                    f"{slow['total_requests']:,} requests.")
    worse = _worse_versions(account, "version", cur_sel, prev_sel) + \
        _worse_versions(account, "prompt_version", cur_sel, prev_sel)
    if worse:
        _, dim, row, old, err, rel = max(worse, key=lambda w: w[0])
        what = "Deployment version" if dim == "version" else "Prompt version"
        parts = []
        if err >= 1.0:
            parts.append(f"error rate {old['error_rate']:.1f}% → {row['error_rate']:.1f}%")
        if rel >= 0.2:
            parts.append(f"p95 {format_value(old['p95_latency_ms'], 'ms')} → "
                         f"{format_value(row['p95_latency_ms'], 'ms')}")
        tips.append(f"{what} {row['key']} got worse than in the previous period: {', '.join(parts)}. "
                    "Compare it with the version before and roll back if needed.")
    if current["total_requests"] and current["success_rate"] < 95:
        tips.append(f"The success rate was {current['success_rate']:.1f}%, below the 95% healthy line: look at the "
                    "failure breakdown on the Production page.")
    return tips


# Read-only: from a replica when one is usable. A report run calls it inside a transaction that
# only holds the run's row lock (nothing it reads was written there), hence despite_transaction.
@replica_reads(despite_transaction=True)
def report_build(account, frequency: str, start_date, end_date) -> dict:
    """Everything a report shows, for [start_date, end_date) in the account's local days."""
    start, end = day_start(account, start_date), day_start(account, end_date)
    prev_start_date, prev_end_date = previous_period(frequency, start_date, end_date)
    cur_sel = Selection(account, start, end)
    prev_sel = Selection(account, day_start(account, prev_start_date), day_start(account, prev_end_date))
    current, previous = metrics_summary(cur_sel), metrics_summary(prev_sel)
    rows = []
    for key, label, unit, better in KEY_METRICS:
        change = _change(current.get(key), previous.get(key), unit)
        rows.append({"key": key, "label": label, "value": current.get(key), "previous": previous.get(key),
                     "shown": format_value(current.get(key), unit), "shown_previous": format_value(previous.get(key),
                                                                                                   unit),
                     "change": change, "change_text": _change_text(change), "tone": _tone(change, better)})
    hourly = frequency == ReportFrequency.DAILY
    points = metrics_timeseries(cur_sel, "hour" if hourly else "day")["points"]
    events = list(AlertEvent.objects.for_account(account).filter(fired_at__gte=start, fired_at__lt=end)
                  .order_by("fired_at"))
    slas = []
    from alerts.services.slas import sla_report
    for sla in Sla.objects.for_account(account).select_related("model"):
        report = sla_report(sla, now=min(end, timezone.now()))
        slas.append({"name": sla.name, "status": report["status"], "objective": sla.get_objective_display(),
                     "value": format_value(report["value"], "percent" if report["unit"] == "percent" else "ms")})
    label = {ReportFrequency.DAILY: "Daily", ReportFrequency.WEEKLY: "Weekly",
             ReportFrequency.MONTHLY: "Monthly"}[frequency]
    last_day = end_date - timedelta(days=1)
    period_text = start_date.strftime("%-d %b %Y") if start_date == last_day else \
        f"{start_date.strftime('%-d %b')} – {last_day.strftime('%-d %b %Y')}"
    return {
        "account": account, "frequency": frequency, "label": label, "period_text": period_text,
        "start_date": start_date, "end_date": end_date, "start": start, "end": end,
        "previous_text": f"{prev_start_date.strftime('%-d %b')} – "
                         f"{(prev_end_date - timedelta(days=1)).strftime('%-d %b %Y')}",
        "current": current, "previous": previous, "metrics": rows, "points": points, "hourly": hourly,
        "events": events, "events_critical": sum(1 for e in events if e.severity == Severity.CRITICAL),
        "events_open": sum(1 for e in events if e.is_open), "slas": slas,
        "recommendations": recommendations(account, cur_sel, prev_sel, current),
        "console_link": console_url(reverse("alerts", kwargs={"account_slug": account.slug})),
        "subject": f"{label} report · {account.name} · {period_text}",
    }


def report_charts(data) -> dict:
    tz = data["account"].tzinfo
    return {"requests": charts.requests_chart(data["points"], data["hourly"], tz),
            "latency": charts.latency_chart(data["points"], data["hourly"], tz),
            "cost": charts.cost_chart(data["points"], data["hourly"], tz)}


def report_render(data, images: dict, inline: bool) -> tuple[str, str]:
    """(html, text). inline=True: images as cid: parts for e-mail; else data: URIs for the preview."""
    sources = {name: f"cid:{name}-chart" if inline else "data:image/png;base64," + base64.b64encode(png).decode()
               for name, png in images.items()}
    context = {**data, "images": sources}
    # The report is read in the account's timezone, whoever renders it (a worker runs in UTC).
    with timezone.override(data["account"].tzinfo):
        return (render_to_string("console/reports_email.html", context),
                render_to_string("console/reports_email.txt", context))


def report_message(schedule: ReportSchedule, data, recipients) -> EmailMultiAlternatives:
    images = report_charts(data)
    html, text = report_render(data, images, inline=True)
    mail = EmailMultiAlternatives(subject=data["subject"], body=text, to=list(recipients),
                                  headers=account_headers(data["account"]),
                                  connection=get_connection(timeout=settings.ALERT_HTTP_TIMEOUT_SECONDS))
    mail.attach_alternative(html, "text/html")
    mail.mixed_subtype = "related"
    for name, png in images.items():
        part = MIMEImage(png, "png")
        part.add_header("Content-ID", f"<{name}-chart>")
        part.add_header("Content-Disposition", "inline", filename=f"{name}.png")
        mail.attach(part)
    return mail


# -- sending ----------------------------------------------------------------------------------

def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=getattr(settings, "REPORT_RETRY_SECONDS", 300.0) * 2 ** max(attempts - 1, 0))


def report_run_send(run_id: int) -> bool:
    """Build and send one `sending` run, under its row lock; True when it is sent (now or before).

    Safe to run twice: a second call finds the row locked (being sent), sent, or failed and
    waiting for its retry time, and does nothing. A failure is recorded with its reason and
    the time of the next attempt (none after MAX_ATTEMPTS)."""
    with transaction.atomic():
        run = (ReportRun.objects.select_for_update(skip_locked=True, of=("self",))
               .select_related("schedule", "account").filter(pk=run_id).first())
        if run is None:
            return True  # another worker is sending it
        if run.status != ReportRun.Status.SENDING:
            return run.status == ReportRun.Status.SENT
        run.attempts += 1
        try:
            data = report_build(run.account, run.schedule.frequency, run.period_start, run.period_end)
            report_message(run.schedule, data, run.recipients).send()
        except Exception as exc:  # SMTP, DNS, rendering: recorded, tried again later
            run.status = ReportRun.Status.FAILED
            run.error = f"{type(exc).__name__}: {str(exc)[:500]}"
            run.next_attempt_at = timezone.now() + retry_delay(run.attempts) if run.attempts < MAX_ATTEMPTS else None
            run.save(update_fields=["attempts", "error", "status", "next_attempt_at"])
            return False
        run.status, run.sent_at, run.subject, run.error = ReportRun.Status.SENT, timezone.now(), data["subject"], ""
        run.next_attempt_at = None
        run.save(update_fields=["attempts", "status", "sent_at", "subject", "error", "next_attempt_at"])
        return True


def reports_recover(now=None) -> int:
    """Every JOBS_RECOVER_INTERVAL_SECONDS: queue failed runs whose retry time came, and runs
    left `sending` by a worker that died (queued over JOBS_STALE_SECONDS ago and not locked
    by a worker sending them now)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=getattr(settings, "JOBS_STALE_SECONDS", 60.0))
    owed = (Q(status=ReportRun.Status.FAILED, next_attempt_at__lte=now)
            | Q(status=ReportRun.Status.SENDING, next_attempt_at__lt=stale)
            | Q(status=ReportRun.Status.SENDING, next_attempt_at__isnull=True, created_at__lt=stale))
    with transaction.atomic():
        ids = list(ReportRun.objects.select_for_update(skip_locked=True).filter(owed).values_list("pk", flat=True)[:200])
        ReportRun.objects.filter(pk__in=ids).update(status=ReportRun.Status.SENDING, next_attempt_at=now)
        for pk in ids:
            jobs.enqueue_on_commit(jobs.REPORT_SEND, pk)
    return len(ids)


@transaction.atomic
def report_run_retry(account, actor, run: ReportRun) -> ReportRun:
    """"Retry now": a failed run is queued at once, with a fresh set of attempts."""
    run = ReportRun.objects.for_account(account).select_for_update().get(pk=run.pk)
    if run.status != ReportRun.Status.FAILED:
        raise ApplicationError(f"This report is {run.status}; only failed reports can be retried.",
                               {"status": [f"is {run.status}"]}, status=409)
    run.status, run.attempts, run.next_attempt_at = ReportRun.Status.SENDING, 0, timezone.now()
    run.save(update_fields=["status", "attempts", "next_attempt_at"])
    audit_record(account, actor, "report.retried", run, name=run.schedule.name, period=run.period_start.isoformat())
    jobs.enqueue_on_commit(jobs.REPORT_SEND, run.pk)
    return run


def reports_send_due(now=None) -> list[int]:
    """Create (once) and queue the run of every schedule whose latest period's send time has come."""
    now = now or timezone.now()
    queued = []
    for schedule in ReportSchedule.objects.filter(enabled=True).select_related("account"):
        today = now.astimezone(schedule.account.tzinfo).date()
        start, end = latest_period(schedule.frequency, today)
        at = send_time(schedule, end)
        # Not before its hour, and never for a period whose send time passed before the schedule existed.
        if now < at or at < schedule.created_at:
            continue
        try:
            with transaction.atomic():
                run = ReportRun.objects.create(account=schedule.account, schedule=schedule,
                                               kind=ReportRun.Kind.SCHEDULED, period_start=start, period_end=end,
                                               recipients=list(schedule.recipients), next_attempt_at=now)
        except IntegrityError:
            continue  # this period's run exists: sent, being sent, or failed (retried by reports_recover)
        queued.append(run.pk)
        jobs.enqueue_on_commit(jobs.REPORT_SEND, run.pk)
    return queued


def report_preview(schedule: ReportSchedule, today=None) -> dict:
    today = today or timezone.now().astimezone(schedule.account.tzinfo).date()
    start, end = latest_period(schedule.frequency, today)
    data = report_build(schedule.account, schedule.frequency, start, end)
    html, text = report_render(data, report_charts(data), inline=False)
    return {"subject": data["subject"], "period_start": start, "period_end": end, "html": html, "text": text}


def report_send_now(account, actor, schedule: ReportSchedule) -> ReportRun:
    """Send the latest complete period now, to the schedule's recipients (a manual run)."""
    today = timezone.now().astimezone(account.tzinfo).date()
    start, end = latest_period(schedule.frequency, today)
    run = ReportRun.objects.create(account=account, schedule=schedule, kind=ReportRun.Kind.MANUAL,
                                   period_start=start, period_end=end, recipients=list(schedule.recipients),
                                   next_attempt_at=timezone.now())
    audit_record(account, actor, "report.sent_now", schedule, name=schedule.name, period=start.isoformat())
    report_run_send(run.pk)
    run.refresh_from_db()
    return run


# -- schedules --------------------------------------------------------------------------------

def _check(schedule):
    if not schedule.recipients:
        raise ApplicationError("A report needs recipients.", {"recipients": ["at least one address"]})
    if len(schedule.recipients) > 50:
        raise ApplicationError("Too many recipients.", {"recipients": ["at most 50"]})


@transaction.atomic
def schedule_create(account, actor, **data) -> ReportSchedule:
    schedule = ReportSchedule(account=account, created_by=actor.user, **data)
    schedule.recipients = sorted({r.strip().lower() for r in schedule.recipients or []})
    _check(schedule)
    schedule.full_clean(exclude=["account", "created_by"])
    if ReportSchedule.objects.for_account(account).filter(name=schedule.name).exists():
        raise ApplicationError("A report of this name exists.", {"name": ["already used in this account"]})
    schedule.save()
    audit_record(account, actor, "report.created", schedule, name=schedule.name, frequency=schedule.frequency,
                 recipients=schedule.recipients)
    return schedule


@transaction.atomic
def schedule_update(account, actor, schedule, **data) -> ReportSchedule:
    schedule = ReportSchedule.objects.for_account(account).select_for_update().get(pk=schedule.pk)
    if "recipients" in data:
        data["recipients"] = sorted({r.strip().lower() for r in data["recipients"] or []})
    changes = {k: {"from": getattr(schedule, k), "to": v} for k, v in data.items() if getattr(schedule, k) != v}
    for k, v in data.items():
        setattr(schedule, k, v)
    _check(schedule)
    schedule.full_clean(exclude=["account", "created_by"])
    if ReportSchedule.objects.for_account(account).filter(name=schedule.name).exclude(pk=schedule.pk).exists():
        raise ApplicationError("A report of this name exists.", {"name": ["already used in this account"]})
    schedule.save()
    if changes:
        audit_record(account, actor, "report.updated", schedule, name=schedule.name, changes=changes)
    return schedule


@transaction.atomic
def schedule_delete(account, actor, schedule) -> None:
    audit_record(account, actor, "report.deleted", schedule, name=schedule.name)
    ReportSchedule.objects.for_account(account).filter(pk=schedule.pk).delete()
