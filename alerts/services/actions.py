"""Actions on alerts (L8): a rule may ask an automation to scale a deployment up or down, roll it
back to its previous version, or switch to another model. The product does none of it itself:
it sends a signed action webhook — a Delivery of purpose "action" to a webhook channel, with
the same signing, retries, outbound checks and history as notifications — once per configured
transition (fired and/or resolved), with the target resolved when the transition happens.
"""
from datetime import timezone as dt_timezone

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.errors import ApplicationError
from accounts.services import audit_record
from alerts.models import (ActionKind, AlertEvent, ChannelKind, Delivery, DeliveryPurpose, RuleAction,
                           Transition)
from models_registry.models import DeploymentVersion, ReplicaEvent

FIELDS = ("kind", "channel", "deployment", "version", "model", "replicas", "on_fired", "on_resolved")
TRANSITIONS = {Transition.FIRED: "on_fired", Transition.RESOLVED: "on_resolved"}


# -- configuration ----------------------------------------------------------------------------

def _check(account, action: RuleAction):
    errors = {}
    if action.kind not in ActionKind.values:
        errors["kind"] = [f"one of {', '.join(ActionKind.values)}"]
    for name in ("rule", "channel", "deployment", "version", "model"):
        obj = getattr(action, name, None) if getattr(action, f"{name}_id") else None
        if obj is not None and obj.account_id != account.pk:
            errors[name] = ["not found"]
    if action.channel_id and "channel" not in errors and action.channel.kind != ChannelKind.WEBHOOK:
        errors["channel"] = ["must be a webhook channel (its URL and secret receive the action)"]
    if action.kind in (ActionKind.SCALE_UP, ActionKind.SCALE_DOWN, ActionKind.ROLLBACK) and not action.deployment_id:
        errors["deployment"] = [f"required to {ActionKind(action.kind).label.lower()}"]
    if action.kind == ActionKind.SWITCH_MODEL and not action.model_id:
        errors["model"] = ["required: the model to switch to"]
    if action.version_id and action.kind != ActionKind.ROLLBACK:
        errors["version"] = ["only a rollback names a version"]
    elif action.version_id and "version" not in errors and action.version.deployment_id != action.deployment_id:
        errors["version"] = ["not a version of this deployment"]
    if not 1 <= (action.replicas or 0) <= 1000:
        errors["replicas"] = ["between 1 and 1000"]
    if not (action.on_fired or action.on_resolved):
        errors["on_fired"] = ["send on firing, on resolving, or both"]
    if errors:
        raise ApplicationError("The action is not valid.", errors)


@transaction.atomic
def rule_action_create(account, actor, **data) -> RuleAction:
    rule = data.get("rule")
    if rule is not None and RuleAction.objects.for_account(account).filter(rule=rule).exists():
        raise ApplicationError("This rule already has an action; change that one.", {"rule": ["already has an action"]})
    action = RuleAction(account=account, rule=rule, **{k: v for k, v in data.items() if k in FIELDS})
    _check(account, action)
    action.save()
    audit_record(account, actor, "alert_action.created", action, rule=rule.name, kind=action.kind)
    return action


@transaction.atomic
def rule_action_update(account, actor, action: RuleAction, **data) -> RuleAction:
    action = RuleAction.objects.for_account(account).select_for_update().get(pk=action.pk)
    if "rule" in data and data["rule"].pk != action.rule_id:
        raise ApplicationError("An action stays with its rule.", {"rule": ["fixed"]})
    changes = {k: {"from": str(getattr(action, k)), "to": str(v)} for k, v in data.items()
               if k in FIELDS and getattr(action, k) != v}
    for k, v in data.items():
        if k in FIELDS:
            setattr(action, k, v)
    _check(account, action)
    action.save()
    if changes:
        audit_record(account, actor, "alert_action.updated", action, rule=action.rule.name, changes=changes)
    return action


@transaction.atomic
def rule_action_delete(account, actor, action: RuleAction) -> None:
    audit_record(account, actor, "alert_action.deleted", action, rule=action.rule.name, kind=action.kind)
    RuleAction.objects.for_account(account).filter(pk=action.pk).delete()


# -- targets ----------------------------------------------------------------------------------

def running_version(deployment, at):
    """The version the latest scaling event up to `at` ran; else the newest version registered."""
    event = (ReplicaEvent.objects.for_account(deployment.account).filter(deployment=deployment, at__lte=at,
                                                                        version__isnull=False)
             .select_related("version").order_by("-at", "-pk").first())
    if event is not None:
        return event.version
    return (DeploymentVersion.objects.for_account(deployment.account).filter(deployment=deployment)
            .order_by("-created_at", "-pk").first())


def previous_version(deployment, current, at):
    """The version that ran before `current`: the latest scaling event of another version (so
    after a rollback from B to A, the previous of A is B); else the version registered before it."""
    if current is None:
        return None
    other = (ReplicaEvent.objects.for_account(deployment.account)
             .filter(deployment=deployment, at__lte=at, version__isnull=False).exclude(version=current)
             .select_related("version").order_by("-at", "-pk").first())
    if other is not None:
        return other.version
    return (DeploymentVersion.objects.for_account(deployment.account).filter(deployment=deployment)
            .exclude(pk=current.pk).filter(created_at__lte=current.created_at).order_by("-created_at", "-pk").first())


def current_replicas(deployment, at):
    event = (ReplicaEvent.objects.for_account(deployment.account).filter(deployment=deployment, at__lte=at)
             .order_by("-at", "-pk").first())
    return event.replicas if event is not None else None


def _version(v):
    return {"id": v.pk, "version": v.version} if v is not None else None


def _deployment(d):
    return {"id": d.pk, "name": d.name, "model": d.model.name, "deployed_at": d.deployed_at.isoformat(),
            "hardware": d.hardware, "max_replicas": d.max_replicas}


def action_target(action: RuleAction, at) -> dict:
    """Where the action points, resolved at the transition's instant."""
    target = {}
    deployment = action.deployment
    if deployment is not None:
        target["deployment"] = _deployment(deployment)
        current = running_version(deployment, at)
        target["current_version"] = _version(current)
    if action.kind in (ActionKind.SCALE_UP, ActionKind.SCALE_DOWN):
        now = current_replicas(deployment, at)
        step = action.replicas if action.kind == ActionKind.SCALE_UP else -action.replicas
        desired = None if now is None else max(0, min(deployment.max_replicas, now + step))
        target["replicas"] = {"current": now, "change": step, "desired": desired, "max": deployment.max_replicas}
    elif action.kind == ActionKind.ROLLBACK:
        chosen = action.version or previous_version(deployment, current, at)
        target["version"] = _version(chosen)
    elif action.kind == ActionKind.SWITCH_MODEL:
        rule = action.rule
        target["from_model"] = {"id": rule.model.pk, "name": rule.model.name} if rule.model_id else None
        target["model"] = {"id": action.model.pk, "name": action.model.name, "provider": action.model.provider,
                           "model_type": action.model.model_type}
    return target


def action_payload(action: RuleAction, event: AlertEvent, transition: str, delivery_id: int, at) -> dict:
    from alerts.services.notify import event_link

    return {
        "type": "action", "action": action.kind, "action_id": delivery_id, "transition": transition,
        "target": action_target(action, at),
        "event_id": event.pk, "status": event.status, "severity": event.severity, "metric": event.metric,
        "value": event.last_value if transition != Transition.FIRED and event.last_value is not None else event.value,
        "threshold": event.threshold, "operator": event.operator, "scope": event.scope,
        "rule": {"id": event.rule_id, "name": event.rule_name}, "account": event.account.slug,
        "timestamp": at.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "url": event_link(event),
    }


def action_dispatch(event: AlertEvent, transition: str, rule) -> list[Delivery]:
    """The rule's action for this transition, recorded once (the delivery's unique key) and queued."""
    from alerts.services.notify import enqueue

    action = RuleAction.objects.filter(rule=rule).select_related(
        "channel", "deployment__model", "version", "model", "rule__model").first() if rule is not None else None
    if action is None or not getattr(action, TRANSITIONS.get(transition, ""), False) or not action.channel.enabled:
        return []
    at = timezone.now()
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(account=event.account, event=event, channel=action.channel,
                                               channel_name=action.channel.name, channel_kind=action.channel.kind,
                                               purpose=DeliveryPurpose.ACTION, transition=transition, sequence=0)
    except IntegrityError:
        return []  # this transition's action was already sent
    delivery.payload = action_payload(action, event, transition, delivery.pk, at)
    delivery.save(update_fields=["payload"])
    enqueue(delivery)
    return [delivery]
