"""Name → id resolution for a whole ingestion batch (T4: unknown names register themselves).

One query per kind for the lookup; only names never seen before take the slower path,
under a per-account advisory lock so two batches racing on a new name create it once.
"""
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

from models_registry.models import Connection, Deployment, DeploymentVersion, Model, ModelType

REGISTRY_LOCK_NAMESPACE = 7301  # pg_advisory_xact_lock(namespace, account_id)


@dataclass
class Resolved:
    models: dict = field(default_factory=dict)        # name -> Model id
    model_types: dict = field(default_factory=dict)   # name -> model_type
    deployments: dict = field(default_factory=dict)   # (model name, deployment name) -> Deployment id
    versions: dict = field(default_factory=dict)      # (model name, deployment name, version) -> id
    connections: dict = field(default_factory=dict)   # name -> Connection id


def _lock(account):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [REGISTRY_LOCK_NAMESPACE, account.pk])


@transaction.atomic
def registry_resolve(account, *, models: dict | None = None, deployments: dict | None = None,
                     versions: set | None = None, connections: dict | None = None) -> Resolved:
    """Resolve (and register) the registry names one batch mentions.

    models:      {name: {"model_type": …, "base_model": …, "provider": …}}
    deployments: {(model name, deployment name): first time seen}  (the deployment used is
                 the latest one of that name deployed at or before that time, else the latest)
    versions:    {(model name, deployment name, version)}
    connections: {name: provider}
    """
    models, deployments = models or {}, deployments or {}
    versions, connections = versions or set(), connections or {}
    for model_name, _ in deployments:
        models.setdefault(model_name, {"model_type": ModelType.FINE_TUNED})
    for model_name, dep_name, _ in versions:
        models.setdefault(model_name, {"model_type": ModelType.FINE_TUNED})
        deployments.setdefault((model_name, dep_name), None)
    out = Resolved()
    locked = False

    def ensure_lock():
        nonlocal locked
        if not locked:
            _lock(account)
            locked = True

    if models:
        found = dict(Model.objects.for_account(account).filter(name__in=models).values_list("name", "id"))
        missing = [n for n in models if n not in found]
        if missing:
            ensure_lock()
            Model.objects.bulk_create(
                [Model(account=account, name=n, model_type=models[n].get("model_type") or ModelType.EXTERNAL,
                       base_model=models[n].get("base_model") or "", provider=models[n].get("provider") or "")
                 for n in missing],
                ignore_conflicts=True,
            )
            found = dict(Model.objects.for_account(account).filter(name__in=models).values_list("name", "id"))
        out.models = found
        out.model_types = dict(
            Model.objects.for_account(account).filter(name__in=models).values_list("name", "model_type")
        )

    if deployments:
        out.deployments = _resolve_deployments(account, deployments, out.models, ensure_lock)

    if versions:
        dep_ids = {out.deployments[(m, d)] for m, d, _ in versions}
        existing = {
            (dep_id, v): pk
            for pk, dep_id, v in DeploymentVersion.objects.for_account(account)
            .filter(deployment_id__in=dep_ids).values_list("id", "deployment_id", "version")
        }
        wanted = {(out.deployments[(m, d)], v) for m, d, v in versions}
        if wanted - set(existing):
            ensure_lock()
            DeploymentVersion.objects.bulk_create(
                [DeploymentVersion(account=account, deployment_id=dep_id, version=v) for dep_id, v in wanted - set(existing)],
                ignore_conflicts=True,
            )
            existing = {
                (dep_id, v): pk
                for pk, dep_id, v in DeploymentVersion.objects.for_account(account)
                .filter(deployment_id__in=dep_ids).values_list("id", "deployment_id", "version")
            }
        out.versions = {(m, d, v): existing[(out.deployments[(m, d)], v)] for m, d, v in versions}

    if connections:
        found = dict(Connection.objects.for_account(account).filter(name__in=connections).values_list("name", "id"))
        missing = [n for n in connections if n not in found]
        if missing:
            ensure_lock()
            Connection.objects.bulk_create(
                [Connection(account=account, name=n, provider=connections[n] or "") for n in missing],
                ignore_conflicts=True,
            )
            found = dict(Connection.objects.for_account(account).filter(name__in=connections).values_list("name", "id"))
        out.connections = found
    return out


def _resolve_deployments(account, deployments: dict, model_ids: dict, ensure_lock) -> dict:
    def load():
        rows = (
            Deployment.objects.for_account(account)
            .filter(model_id__in={model_ids[m] for m, _ in deployments}, name__in={d for _, d in deployments})
            .order_by("deployed_at")
            .values_list("id", "model_id", "name", "deployed_at")
        )
        by_key = {}
        for pk, model_id, name, deployed_at in rows:
            by_key.setdefault((model_id, name), []).append((deployed_at, pk))
        return by_key

    def pick(candidates, seen_at: datetime | None):
        if seen_at is not None:
            before = [pk for deployed_at, pk in candidates if deployed_at <= seen_at]
            if before:
                return before[-1]
        return candidates[-1][1]

    by_key = load()
    missing = {(m, d): t for (m, d), t in deployments.items() if (model_ids[m], d) not in by_key}
    if missing:
        ensure_lock()
        by_key = load()
        Deployment.objects.bulk_create(
            [Deployment(account=account, model_id=model_ids[m], name=d, deployed_at=t or _now())
             for (m, d), t in missing.items() if (model_ids[m], d) not in by_key],
            ignore_conflicts=True,
        )
        by_key = load()
    return {(m, d): pick(by_key[(model_ids[m], d)], t) for (m, d), t in deployments.items()}


def _now():
    from django.utils import timezone

    return timezone.now()
