"""Registry events sent by integrations (I4): scaling, deployment lifecycle, fine-tuning
jobs and credit charges. Validated per item like traces; idempotent on natural keys."""
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from django.db import IntegrityError, transaction
from msgspec import Meta

from models_registry.models import CreditCharge, Deployment, DeploymentVersion, FineTuneJob, ReplicaEvent
from models_registry.services import registry_resolve
from traces.services.ingest import IngestResult
from traces.services.validation import ItemError, convert_item, utcnow

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Short = Annotated[str, Meta(max_length=100)]
When = Annotated[datetime, Meta(tz=True)]
Credits = Annotated[float, Meta(ge=0, le=1e12)]


class ReplicaEventIn(msgspec.Struct, forbid_unknown_fields=False):
    model: Name
    deployment: Name
    at: When
    replicas: Annotated[int, Meta(ge=0, le=10_000)]
    hardware: Annotated[str, Meta(min_length=1, max_length=100)]
    version: Short = ""


class DeploymentEventIn(msgspec.Struct, forbid_unknown_fields=False):
    model: Name
    deployment: Name
    event: Literal["deployed", "undeployed", "version"]
    at: When
    version: Short = ""
    hardware: Short = ""
    max_replicas: Annotated[int, Meta(ge=1, le=10_000)] | None = None
    model_type: Literal["fine_tuned", "open_source"] = "fine_tuned"
    base_model: Short = ""


class FineTuneJobIn(msgspec.Struct, forbid_unknown_fields=False):
    external_id: Annotated[str, Meta(min_length=1, max_length=128)]
    model: Name
    started_at: When
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"] = "succeeded"
    finished_at: When | None = None
    credits: Credits = 0.0
    base_model: Short = ""


class CreditChargeIn(msgspec.Struct, forbid_unknown_fields=False):
    external_id: Annotated[str, Meta(min_length=1, max_length=128)]
    kind: Literal["deployment", "fine_tuning", "other"]
    credits: Credits
    at: When
    model: Short = ""
    deployment: Short = ""
    description: Annotated[str, Meta(max_length=300)] = ""


def _validated(items, struct, now):
    good, result = [], IngestResult()
    for index, item in enumerate(items):
        try:
            value = convert_item(item, now, struct=struct)
            for name in struct.__struct_fields__:
                field_value = getattr(value, name)
                if isinstance(field_value, datetime) and field_value > now.replace(year=now.year + 1):
                    raise ItemError(name, "is too far in the future")
            good.append((index, value))
        except ItemError as exc:
            result.errors.append({"index": index, "field": exc.field, "message": exc.message,
                                  "request_id": item.get("external_id") if isinstance(item, dict) else None})
    return good, result


def _store(result, index, create):
    """Create one row in a savepoint; a natural-key conflict is a duplicate."""
    try:
        with transaction.atomic():
            created = create()
    except IntegrityError:
        created = False
    if created:
        result.accepted += 1
    else:
        result.duplicates += 1


@transaction.atomic
def replica_events_ingest(account, items) -> IngestResult:
    good, result = _validated(items, ReplicaEventIn, utcnow())
    if not good:
        return result
    resolved = registry_resolve(
        account, deployments={(v.model, v.deployment): v.at for _, v in good},
        versions={(v.model, v.deployment, v.version) for _, v in good if v.version})
    for index, v in good:
        deployment_id = resolved.deployments[(v.model, v.deployment)]
        version_id = resolved.versions.get((v.model, v.deployment, v.version)) if v.version else None
        _store(result, index, lambda: ReplicaEvent.objects.create(
            account=account, deployment_id=deployment_id, version_id=version_id, at=v.at, replicas=v.replicas,
            hardware=v.hardware))
    return result


@transaction.atomic
def deployment_events_ingest(account, items) -> IngestResult:
    good, result = _validated(items, DeploymentEventIn, utcnow())
    for index, v in good:
        models = {v.model: {"model_type": v.model_type, "base_model": v.base_model}}
        if v.event == "deployed":
            resolved = registry_resolve(account, models=models)
            def create(v=v, model_id=resolved.models[v.model]):
                _, created = Deployment.objects.get_or_create(
                    account=account, model_id=model_id, name=v.deployment, deployed_at=v.at,
                    defaults={"hardware": v.hardware, "max_replicas": v.max_replicas or 1})
                return created
            _store(result, index, create)
        elif v.event == "undeployed":
            resolved = registry_resolve(account, models=models, deployments={(v.model, v.deployment): v.at})
            deployment = Deployment.objects.for_account(account).get(pk=resolved.deployments[(v.model, v.deployment)])
            if deployment.undeployed_at == v.at:
                result.duplicates += 1
            elif v.at < deployment.deployed_at:
                result.errors.append({"index": index, "request_id": None, "field": "at",
                                      "message": "is before the deployment was deployed"})
            else:
                deployment.undeployed_at = v.at
                deployment.save(update_fields=["undeployed_at"])
                result.accepted += 1
        else:
            if not v.version:
                result.errors.append({"index": index, "request_id": None, "field": "version",
                                      "message": "is required for a version event"})
                continue
            resolved = registry_resolve(account, models=models, deployments={(v.model, v.deployment): v.at})
            deployment_id = resolved.deployments[(v.model, v.deployment)]
            _store(result, index, lambda v=v, deployment_id=deployment_id: DeploymentVersion.objects.get_or_create(
                account=account, deployment_id=deployment_id, version=v.version)[1])
    return result


@transaction.atomic
def fine_tune_jobs_ingest(account, items) -> IngestResult:
    """Upsert by external_id: a job is reported again as it progresses."""
    good, result = _validated(items, FineTuneJobIn, utcnow())
    if not good:
        return result
    resolved = registry_resolve(account, models={v.model: {"model_type": "fine_tuned", "base_model": v.base_model}
                                                 for _, v in good})
    for index, v in good:
        values = {"model_id": resolved.models[v.model], "started_at": v.started_at, "status": v.status,
                  "finished_at": v.finished_at, "credits": Decimal(repr(v.credits))}
        job = FineTuneJob.objects.for_account(account).filter(external_id=v.external_id).first()
        if job is None:
            _store(result, index, lambda: FineTuneJob.objects.create(account=account, external_id=v.external_id,
                                                                     **values))
        elif all(getattr(job, k) == val for k, val in values.items()):
            result.duplicates += 1
        else:
            FineTuneJob.objects.filter(pk=job.pk).update(**values)
            result.accepted += 1
    return result


@transaction.atomic
def credit_charges_ingest(account, items) -> IngestResult:
    good, result = _validated(items, CreditChargeIn, utcnow())
    for index, v in good:
        deployment_id = None
        if v.deployment:
            if not v.model:
                result.errors.append({"index": index, "request_id": v.external_id, "field": "model",
                                      "message": "is required with a deployment"})
                continue
            deployment_id = registry_resolve(account, deployments={(v.model, v.deployment): v.at}) \
                .deployments[(v.model, v.deployment)]
        _store(result, index, lambda v=v, deployment_id=deployment_id: CreditCharge.objects.create(
            account=account, external_id=v.external_id, kind=v.kind, credits=Decimal(repr(v.credits)), at=v.at,
            deployment_id=deployment_id, description=v.description))
    return result
