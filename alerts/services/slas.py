"""SLAs (L5): availability, p95 latency and success-rate objectives per model or prompt, over a
rolling window (30 days by default), with current status, daily compliance history and error budget.

Definitions (docs/alerts.md):
- availability: only minutes with traffic are judged (a minute without requests says nothing
  about the service, so it is neither up nor down). A judged minute is *down* when at least
  `down_error_rate` % of its requests failed. Availability = 1 − down minutes / minutes with
  traffic; allowed downtime = (100 − target)% of the minutes with traffic, so a service with
  traffic every minute of 30 days at 99.9% may be down 43.2 minutes (seed 003), and one with
  traffic in 5,000 minutes of the window 5 minutes; budget remaining = allowed − down minutes
  (negative: overspent by that many minutes). Availability ≥ target exactly when the budget
  is not overspent.
- success rate: successes / requests over the window ≥ target; the budget is in failed requests:
  allowed = (100 − target)% of the requests.
- p95 latency: p95 over the window ≤ target ms; the budget is in slow requests: 5% of the
  requests may be slower than the bound.
A day complies when that day alone meets the objective. Success rates and percentiles come from
the metrics layer; down minutes and slow requests are counted from raw traces (per-minute and
per-request facts rollups do not keep), always with the account id as a parameter.
"""
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.errors import ApplicationError
from accounts.services import audit_record
from alerts.models import Sla, SlaObjective
from analytics.buckets import day_start, local_day
from analytics.selectors import Selection, metrics_summary, metrics_timeseries
from analytics.selectors.metrics import selection_where
from config.replica_reads import read_connection, replica_reads

SLA_FIELDS = {"name", "objective", "target", "model", "prompt", "window_days", "down_error_rate"}


def _filters(sla: Sla) -> dict:
    filters = {}
    if sla.model_id:
        filters["model"] = sla.model.name
    if sla.prompt:
        filters["prompt"] = sla.prompt
    return filters


def _raw_scope(sla: Sla, start, end) -> tuple[str, dict]:
    """The SLA's traces in [start, end) as SQL, with the metrics layer's own filters."""
    sel = Selection(sla.account, start, end, _filters(sla))
    where, params = selection_where(sel, "")
    return (f"account_id = %(account)s AND executed_at >= %(start)s AND executed_at < %(end)s{where}",
            {**params, "account": sla.account_id, "start": start, "end": end,
             "tz": sla.account.timezone})  # a validated IANA name


def minutes_by_day(sla: Sla, start, end) -> dict:
    """{local date: (down minutes, minutes with traffic)}; a minute is down when at least
    down_error_rate % of its requests failed."""
    scope, params = _raw_scope(sla, start, end)
    with read_connection().cursor() as cursor:
        cursor.execute(
            f"""SELECT (m AT TIME ZONE %(tz)s)::date, count(*) FILTER (WHERE down), count(*) FROM (
                    SELECT date_trunc('minute', executed_at) AS m,
                           count(*) FILTER (WHERE status = 'failure') * 100.0 >= %(down)s * count(*) AS down
                    FROM traces_trace WHERE {scope} GROUP BY 1
                ) AS minutes GROUP BY 1""",
            {**params, "down": sla.down_error_rate})
        return {day: (down, seen) for day, down, seen in cursor.fetchall()}


def slow_requests_by_day(sla: Sla, start, end) -> dict:
    scope, params = _raw_scope(sla, start, end)
    with read_connection().cursor() as cursor:
        cursor.execute(
            f"""SELECT (executed_at AT TIME ZONE %(tz)s)::date, count(*) FROM traces_trace
                WHERE {scope} AND response_time_ms > %(target)s GROUP BY 1""",
            {**params, "target": sla.target})
        return dict(cursor.fetchall())


def _met(sla: Sla, value) -> bool | None:
    if value is None:
        return None
    if sla.objective == SlaObjective.LATENCY_P95:
        return value <= sla.target
    return value >= sla.target


@replica_reads()
def sla_report(sla: Sla, now=None) -> dict:
    """Status, error budget and daily compliance over the rolling window ending now."""
    now = now or timezone.now()
    account = sla.account
    window = timedelta(days=sla.window_days)
    start = now - window
    filters = _filters(sla)
    summary = metrics_summary(Selection(account, start, now, dict(filters)))
    requests = summary["total_requests"]
    # History: the local days of the window, the first one partly, today so far.
    first_day = local_day(account, start)
    series_start = max(start, day_start(account, first_day))
    points = {p["period"]: p for p in metrics_timeseries(Selection(account, series_start, now, dict(filters)),
                                                         "day")["points"]}
    report = {"sla": sla.pk, "name": sla.name, "objective": sla.objective, "target": sla.target,
              "window_days": sla.window_days, "period": {"start": start.isoformat(), "end": now.isoformat()},
              "total_requests": requests}
    if sla.objective == SlaObjective.AVAILABILITY:
        by_day = minutes_by_day(sla, start, now)
        downtime = sum(d for d, _ in by_day.values())
        observed = sum(n for _, n in by_day.values())
        allowed = (100.0 - sla.target) / 100.0 * observed
        value = 100.0 * (1 - downtime / observed) if observed else None
        report.update(value=value, unit="percent", downtime_minutes=downtime, traffic_minutes=observed,
                      window_minutes=round(window / timedelta(minutes=1)), budget_unit="minutes",
                      budget_total=allowed, budget_used=downtime, budget_remaining=allowed - downtime)
    elif sla.objective == SlaObjective.SUCCESS_RATE:
        failures = summary["failed_requests"]
        allowed = (100.0 - sla.target) / 100.0 * requests
        report.update(value=summary["success_rate"] if requests else None, unit="percent", budget_unit="requests",
                      budget_total=allowed, budget_used=failures, budget_remaining=allowed - failures)
    else:
        slow_by_day = slow_requests_by_day(sla, start, now)
        slow = sum(slow_by_day.values())
        allowed = 0.05 * requests
        report.update(value=summary["p95_latency_ms"], unit="ms", slow_requests=slow, budget_unit="requests",
                      budget_total=allowed, budget_used=slow, budget_remaining=allowed - slow)
    history = []
    day = first_day
    last_day = local_day(account, now)
    while day <= last_day:
        point = points.get(day.isoformat())
        n = point["total_requests"] if point else 0
        if sla.objective == SlaObjective.AVAILABILITY:
            d, minutes = by_day.get(day, (0, 0))
            value = 100.0 * (1 - d / minutes) if minutes else None
            entry = {"downtime_minutes": d, "traffic_minutes": minutes,
                     "allowed_minutes": (100.0 - sla.target) / 100.0 * minutes}
        elif sla.objective == SlaObjective.SUCCESS_RATE:
            value = point["success_rate"] if n else None
            entry = {"failed_requests": point["failed_requests"] if n else 0}
        else:
            value = point["p95_latency_ms"] if n else None
            entry = {"slow_requests": slow_by_day.get(day, 0)}
        history.append({"day": day.isoformat(), "requests": n, "value": value, "met": _met(sla, value), **entry})
        day += timedelta(days=1)
    judged = [h for h in history if h["met"] is not None]
    met = _met(sla, report["value"])
    report.update(
        status="no_data" if met is None else ("meeting" if met and report["budget_remaining"] >= 0 else "violating"),
        budget_remaining_pct=(100.0 * report["budget_remaining"] / report["budget_total"]
                              if report["budget_total"] else None),
        compliance_pct=100.0 * sum(1 for h in judged if h["met"]) / len(judged) if judged else None,
        history=history,
    )
    return report


def _check(account, sla: Sla):
    if sla.objective not in SlaObjective.values:
        raise ApplicationError("Unknown objective.", {"objective": [f"one of {', '.join(SlaObjective.values)}"]})
    if sla.objective == SlaObjective.LATENCY_P95:
        if not 0 < sla.target <= 3_600_000:
            raise ApplicationError("The latency bound is in milliseconds.", {"target": ["must be > 0 ms"]})
    elif not 0 < sla.target < 100:
        raise ApplicationError("The target is a percentage.", {"target": ["must be between 0 and 100, exclusive"]})
    if sla.model_id and sla.model.account_id != account.pk:
        raise ApplicationError("No such model in this account.", {"model": ["not found"]})


@transaction.atomic
def sla_create(account, actor, **data) -> Sla:
    sla = Sla(account=account, **data)
    sla.full_clean(exclude=["account", "model"])
    _check(account, sla)
    if Sla.objects.for_account(account).filter(name=sla.name).exists():
        raise ApplicationError("An SLA of this name exists.", {"name": ["already used in this account"]})
    sla.save()
    audit_record(account, actor, "sla.created", sla, name=sla.name, objective=sla.objective,
                 objective_target=sla.target)
    return sla


@transaction.atomic
def sla_update(account, actor, sla: Sla, **data) -> Sla:
    sla = Sla.objects.for_account(account).select_for_update().get(pk=sla.pk)
    changes = {k: {"from": str(getattr(sla, k)), "to": str(v)} for k, v in data.items() if getattr(sla, k) != v}
    for k, v in data.items():
        setattr(sla, k, v)
    sla.full_clean(exclude=["account", "model"])
    _check(account, sla)
    if Sla.objects.for_account(account).filter(name=sla.name).exclude(pk=sla.pk).exists():
        raise ApplicationError("An SLA of this name exists.", {"name": ["already used in this account"]})
    sla.save()
    if changes:
        audit_record(account, actor, "sla.updated", sla, name=sla.name, changes=changes)
    return sla


@transaction.atomic
def sla_delete(account, actor, sla: Sla) -> None:
    audit_record(account, actor, "sla.deleted", sla, name=sla.name)
    Sla.objects.for_account(account).filter(pk=sla.pk).delete()
