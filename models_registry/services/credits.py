"""Deployment credits: the integral of replicas × hardware rate over time (T5).

Replica events set, from their time on, how many replicas of which hardware run for
one version of a deployment (events without a version form their own group); the
deployment's replicas at any instant are the sum over its versions. Rates change at
their effective time, also in the middle of a scaling step. All arithmetic is Decimal:
credits are exact to the microsecond.
"""
from bisect import bisect_right
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from models_registry.models import Deployment, DeploymentVersion, HardwareRate, ReplicaEvent

SECONDS_PER_HOUR = Decimal(3600)
MULTIPLE_HARDWARE = "Multiple Hardware"


def _window(deployment: Deployment, start: datetime, end: datetime):
    lo = max(start, deployment.deployed_at)
    hi = min(end, deployment.undeployed_at) if deployment.undeployed_at else end
    return lo, hi


def _rate_table(account, hardware_names):
    table = defaultdict(list)
    rows = HardwareRate.objects.for_account(account).filter(hardware__in=hardware_names).order_by("effective_from")
    for rate in rows:
        table[rate.hardware].append((rate.effective_from, rate.credits_per_replica_hour))
    return table


def _rate_at(table, hardware, at) -> Decimal:
    entries = table.get(hardware, [])
    i = bisect_right([e[0] for e in entries], at)
    return entries[i - 1][1] if i else Decimal(0)


def _steps(account, deployment: Deployment, lo: datetime, hi: datetime):
    """[(t0, t1, {version_key: (replicas, hardware)})] covering [lo, hi)."""
    events = list(
        ReplicaEvent.objects.for_account(account).filter(deployment=deployment, at__lt=hi).order_by("at", "id")
    )
    state = {}
    changes = []
    for event in events:
        key = event.version_id
        if event.at <= lo:
            state[key] = (event.replicas, event.hardware)
        else:
            changes.append(event)
    steps, t = [], lo
    for event in changes:
        if event.at > t:
            steps.append((t, event.at, dict(state)))
            t = event.at
        state[event.version_id] = (event.replicas, event.hardware)
    if hi > t:
        steps.append((t, hi, dict(state)))
    return steps


def deployment_credits(account, deployment: Deployment, start: datetime, end: datetime) -> Decimal:
    """Credits the deployment consumed in [start, end)."""
    lo, hi = _window(deployment, start, end)
    if hi <= lo:
        return Decimal(0)
    steps = _steps(account, deployment, lo, hi)
    hardware = {hw for _, _, state in steps for _, hw in state.values()}
    rates = _rate_table(account, hardware)
    total = Decimal(0)
    for t0, t1, state in steps:
        for replicas, hw in state.values():
            if not replicas:
                continue
            # Split the step where this hardware's rate changes.
            cuts = [t0] + [eff for eff, _ in rates.get(hw, []) if t0 < eff < t1] + [t1]
            for a, b in zip(cuts, cuts[1:]):
                seconds = Decimal((b - a).days * 86400 + (b - a).seconds) + Decimal((b - a).microseconds) / 10**6
                total += replicas * _rate_at(rates, hw, a) * seconds / SECONDS_PER_HOUR
    return total


def account_deployment_credits(account, start: datetime, end: datetime, deployments=None) -> dict:
    """{"total": Decimal, "by_deployment": {deployment_id: Decimal}} over [start, end)."""
    qs = Deployment.objects.for_account(account).filter(deployed_at__lt=end)
    if deployments is not None:
        qs = qs.filter(pk__in=[getattr(d, "pk", d) for d in deployments])
    by_deployment = {d.pk: deployment_credits(account, d, start, end) for d in qs}
    return {"total": sum(by_deployment.values(), Decimal(0)), "by_deployment": by_deployment}


def replica_series(account, deployment: Deployment, start: datetime, end: datetime) -> list[dict]:
    """The step series for the scaling chart: one point where replicas, hardware or the running
    versions change; each point holds from its `at` until the next point's."""
    lo, hi = _window(deployment, start, end)
    if hi <= lo:
        return []
    names = dict(DeploymentVersion.objects.for_account(account).filter(deployment=deployment)
                 .values_list("pk", "version"))
    points = []
    for t0, _, state in _steps(account, deployment, lo, hi):
        replicas = sum(r for r, _ in state.values())
        kinds = sorted({hw for r, hw in state.values() if r})
        hardware = kinds[0] if len(kinds) == 1 else (MULTIPLE_HARDWARE if kinds else "")
        versions = sorted(names.get(key, "") for key, (r, _) in state.items() if r and key in names)
        if points and (points[-1]["replicas"], points[-1]["hardware"], points[-1]["versions"]) == \
                (replicas, hardware, versions):
            continue
        points.append({"at": t0, "replicas": replicas, "hardware": hardware, "versions": versions})
    if points:
        points.append({**points[-1], "at": hi})
    return points
