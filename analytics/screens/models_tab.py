"""Model Analytics (seeds 001/002, D3): account-level cards, filter options and widgets."""
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from django.db.models import Q, Sum

from analytics.selectors import metrics_timeseries
from analytics.selectors.metrics import selection_where
from config.replica_reads import read_connection
from models_registry.models import Connection, CreditCharge, Deployment, DeploymentVersion, FineTuneJob, Model
from models_registry.services import account_deployment_credits, replica_series

TABS = ("fine_tuned", "open_source", "external")
MAX_POINTS = 3000  # per-request latency points, downsampled beyond this
# Beyond this many requests in the selection, per-request points would mean reading and
# ranking every raw row of the range on each call (seconds for a busy account's week):
# the widget then draws each hour's fastest, average and slowest request from the hourly
# rollups, so spikes still show and the call costs the same at any traffic.
RAW_LIMIT = 10_000


def cards(account, start, end) -> dict:
    """Credits consumed in deployment and fine-tuning over the period; deployed and fine-tuned models."""
    charges = CreditCharge.objects.for_account(account).filter(at__gte=start, at__lt=end)
    deployment = account_deployment_credits(account, start, end)["total"]
    deployment += charges.filter(kind=CreditCharge.Kind.DEPLOYMENT).aggregate(s=Sum("credits"))["s"] or Decimal(0)
    # A fine-tuning job's credits count once: from the job, or from charges not tied to a job.
    fine_tuning = (FineTuneJob.objects.for_account(account).filter(started_at__gte=start, started_at__lt=end)
                   .aggregate(s=Sum("credits"))["s"] or Decimal(0))
    fine_tuning += (charges.filter(kind=CreditCharge.Kind.FINE_TUNING, fine_tune_job__isnull=True)
                    .aggregate(s=Sum("credits"))["s"] or Decimal(0))
    live = Deployment.objects.for_account(account).filter(
        Q(undeployed_at__isnull=True) | Q(undeployed_at__gt=start), deployed_at__lt=end)
    return {
        "credits_deployment": str(deployment),
        "credits_fine_tuning": str(fine_tuning),
        "deployed_models": live.values("model_id").distinct().count(),
        "fine_tuned_models": Model.objects.for_account(account).filter(model_type="fine_tuned").count(),
    }


def options(account, tab) -> dict:
    models = list(Model.objects.for_account(account).filter(model_type=tab).order_by("name"))
    deployments = list(Deployment.objects.for_account(account).filter(model__in=models)
                       .order_by("name", "deployed_at"))
    names = [d.name for d in deployments]
    return {
        "models": [{"id": m.pk, "name": m.name, "provider": m.provider} for m in models],
        # Where names repeat, the deployment timestamp tells them apart (001).
        "deployments": [{"id": d.pk, "model_id": d.model_id, "name": d.name, "deployed_at": d.deployed_at,
                         "undeployed_at": d.undeployed_at, "hardware": d.hardware, "max_replicas": d.max_replicas,
                         "label": d.label_in(account.tzinfo) if names.count(d.name) > 1 else d.name}
                        for d in deployments],
        "versions": [{"id": v.pk, "deployment_id": v.deployment_id, "version": v.version}
                     for v in DeploymentVersion.objects.for_account(account).filter(deployment__in=deployments)
                     .order_by("deployment_id", "version")],
        "connections": [{"id": c.pk, "name": c.name, "provider": c.provider}
                        for c in Connection.objects.for_account(account).order_by("name")] if tab == "external" else [],
        "providers": sorted({m.provider for m in models if m.provider}),
    }


def latency(sel, total: int, series) -> dict:
    """Per-request points for up to 7 days (min and max kept per time slice beyond MAX_POINTS),
    each hour's range beyond RAW_LIMIT requests, the daily average latency beyond 7 days."""
    if sel.end - sel.start > timedelta(days=7):
        series = metrics_timeseries(sel, "day", sketches=False, users=False)
        return {"kind": "daily_average", "points": [
            {"period": p["period"], "avg_latency_ms": p["avg_latency_ms"], "requests": p["total_requests"]}
            for p in series["points"]]}
    if total > RAW_LIMIT:
        if series["granularity"] != "hour":
            series = metrics_timeseries(sel, "hour", sketches=False, users=False)
        return {"kind": "hourly_range", "total_requests": total, "points": [
            {"period": p["period"], "min_latency_ms": p["min_latency_ms"], "avg_latency_ms": p["avg_latency_ms"],
             "max_latency_ms": p["max_latency_ms"], "requests": p["total_requests"]} for p in series["points"]]}
    where, params = selection_where(sel)
    params.update(account=sel.account.pk, start=sel.start, end=sel.end, slices=MAX_POINTS // 2)
    with read_connection().cursor() as cursor:
        cursor.execute(
            f"""SELECT executed_at, response_time_ms, request_id, n FROM (
                  SELECT t.executed_at, t.response_time_ms, t.request_id,
                         row_number() OVER w_asc AS lo, row_number() OVER w_desc AS hi,
                         count(*) OVER () AS n
                  FROM (SELECT t.*, width_bucket(extract(epoch FROM t.executed_at),
                                 extract(epoch FROM %(start)s::timestamptz), extract(epoch FROM %(end)s::timestamptz),
                                 %(slices)s) AS slice
                        FROM traces_trace t WHERE t.account_id = %(account)s AND t.executed_at >= %(start)s
                        AND t.executed_at < %(end)s{where}) t
                  WINDOW w_asc AS (PARTITION BY slice ORDER BY response_time_ms, request_id),
                         w_desc AS (PARTITION BY slice ORDER BY response_time_ms DESC, request_id)) x
                WHERE n <= {MAX_POINTS} OR lo = 1 OR hi = 1 ORDER BY executed_at, request_id""", params)
        rows = cursor.fetchall()
    # Say how many of how many are drawn: beyond MAX_POINTS only each time slice's fastest and
    # slowest requests are, so spikes (a 30 s timeout) survive the downsampling.
    return {"kind": "requests", "total_requests": rows[0][3] if rows else 0, "drawn": len(rows),
            "downsampled": bool(rows) and rows[0][3] > len(rows),
            "points": [{"at": at, "latency_ms": ms, "request_id": rid} for at, ms, rid, _ in rows]}


def _totals(series) -> dict:
    """The selection's totals as the sum of its periods (they tile the range exactly), so the
    widgets need not read the range's edges a second time."""
    keys = ("total_requests", "successful_requests", "failed_requests", "input_tokens", "output_tokens")
    return {k: sum(p[k] for p in series["points"]) for k in keys}


def requests(sel, hosted: bool, series, totals) -> dict:
    body = {
        "granularity": series["granularity"],
        "points": [{"period": p["period"], "successful": p["successful_requests"], "failed": p["failed_requests"]}
                   for p in series["points"]],
        "total_requests": totals["total_requests"], "successful_requests": totals["successful_requests"],
        "failed_requests": totals["failed_requests"],
    }
    if hosted:
        credits = _deployment_credits(sel)
        body["total_credits"] = str(credits)
        n = totals["total_requests"]
        body["avg_credits_per_request"] = str((credits / n).quantize(Decimal("0.000001"))) if n else None
    return body


def _deployments(sel):
    qs = Deployment.objects.for_account(sel.account).filter(deployed_at__lt=sel.end).filter(
        Q(undeployed_at__isnull=True) | Q(undeployed_at__gt=sel.start))
    f = sel.filters
    if f.get("model_type"):
        qs = qs.filter(model__model_type=f["model_type"])
    if f.get("model"):
        qs = qs.filter(model__name=f["model"])
    if f.get("model_id"):
        qs = qs.filter(model_id=f["model_id"])
    if f.get("deployment"):
        qs = qs.filter(name=f["deployment"])
    if f.get("deployment_id"):
        qs = qs.filter(pk=f["deployment_id"])
    if f.get("version_id") or f.get("version"):
        versions = DeploymentVersion.objects.for_account(sel.account)
        versions = versions.filter(pk=f["version_id"]) if f.get("version_id") else versions.filter(
            version=f["version"])
        qs = qs.filter(pk__in=versions.values("deployment_id"))
    return list(qs.order_by("deployed_at"))


def _deployment_credits(sel) -> Decimal:
    deployments = _deployments(sel)
    if not deployments:
        return Decimal(0)
    return account_deployment_credits(sel.account, sel.start, sel.end, deployments)["total"]


def scaling(sel) -> dict:
    """Replica step series per deployment; the max-replicas line only for a single day (001)."""
    single_day = sel.end - sel.start <= timedelta(days=1)
    out = []
    for d in _deployments(sel):
        points = replica_series(sel.account, d, sel.start, sel.end)
        if points:
            out.append({"deployment_id": d.pk, "deployment": d.label_in(sel.account.tzinfo),
                        "max_replicas": d.max_replicas,
                        "points": points})
    return {"show_max_replicas": single_day, "deployments": out}


def tokens(series, totals) -> dict:
    return {"granularity": series["granularity"],
            "points": [{"period": p["period"], "input_tokens": p["input_tokens"], "output_tokens": p["output_tokens"]}
                       for p in series["points"]],
            "input_tokens": totals["input_tokens"], "output_tokens": totals["output_tokens"],
            "total_tokens": totals["input_tokens"] + totals["output_tokens"]}


def model_analytics(sel, tab: str) -> dict:
    scoped = replace(sel, filters={**sel.filters, "model_type": tab})
    hosted = tab != "external"
    # One series serves the requests and tokens widgets (and the latency one when hourly).
    series = metrics_timeseries(scoped, sketches=False, users=False)
    totals = _totals(series)
    body = {"tab": tab, "cards": cards(sel.account, sel.start, sel.end), "options": options(sel.account, tab),
            "latency": latency(scoped, totals["total_requests"], series),
            "requests": requests(scoped, hosted, series, totals)}
    if hosted:
        body["scaling"] = scaling(scoped)
    else:
        body["tokens"] = tokens(series, totals)
    return body
