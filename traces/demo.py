"""Realistic demo traffic for an account, sent through the ingestion service.

Several fine-tuned, open-source and external models with deployments, versions and
replica scaling; prompts, features and modules; new and returning users; every kind of
failure; feedback; a daily and weekly rhythm and a couple of incidents.
"""
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from models_registry.models import Deployment, FineTuneJob, HardwareRate, Model, ModelPrice, ReplicaEvent
from models_registry.services import registry_resolve
from traces.services import trace_ingest_batch
from traces.services.feedback import feedback_record


@dataclass
class DemoModel:
    name: str
    model_type: str
    base_model: str
    provider: str
    weight: float
    latency_ms: float          # median
    fail_rate: float
    deployment: str = ""
    hardware: str = ""
    versions: tuple = ()
    connection: str = ""
    price: tuple = ()          # (input, output) $ per 1M tokens
    credit_per_request: float = 0.0


MODELS = [
    DemoModel("support-llama-ft", "fine_tuned", "llama-3.1-8b", "", 0.22, 620, 0.025, "support-prod", "A100-80GB",
              ("v3", "v4"), credit_per_request=0.8),
    DemoModel("claims-mistral-ft", "fine_tuned", "mistral-7b", "", 0.08, 480, 0.03, "claims-prod", "L4", ("v1",),
              credit_per_request=0.5),
    DemoModel("llama-3.1-70b", "open_source", "llama-3.1-70b", "meta", 0.12, 1400, 0.04, "oss-70b", "H100", ("v1",),
              credit_per_request=1.6),
    DemoModel("mistral-7b-instruct", "open_source", "mistral-7b-instruct", "mistral", 0.06, 380, 0.02, "oss-7b",
              "L4", ("v2",), credit_per_request=0.3),
    DemoModel("gpt-4o", "external", "", "openai", 0.26, 1250, 0.02, connection="openai-prod", price=(2.5, 10)),
    DemoModel("gpt-4o-mini", "external", "", "openai", 0.16, 700, 0.015, connection="openai-prod", price=(0.15, 0.6)),
    DemoModel("claude-3-5-sonnet", "external", "", "anthropic", 0.10, 1600, 0.02, connection="anthropic-prod",
              price=(3, 15)),
]
FEATURES = [  # (module, feature, prompt, source_type, source)
    ("Support", "Chatbot", "support-answer", "agent", "helpdesk-agent"),
    ("Support", "Ticket Summarizer", "ticket-summary", "workflow", "ticket-triage"),
    ("Search", "Answer Generation", "rag-answer", "prompt", "knowledge-search"),
    ("Sales", "Email Drafting", "email-draft", "prompt", "crm-assistant"),
    ("Claims", "Document Extraction", "claims-extract", "workflow", "claims-intake"),
    ("Platform", "Classification", "intent-classify", "api_key", "backend-service"),
]
ERRORS = [("timeout", 504, 0.3), ("rate_limit", 429, 0.2), ("llm_error", 500, 0.2), ("validation", 400, 0.12),
          ("system", 503, 0.1), ("network", 502, 0.08)]


def _rhythm(ts: datetime, tz_offset_hours: float) -> float:
    local = ts + timedelta(hours=tz_offset_hours)
    hour = local.hour + local.minute / 60
    daily = 0.25 + 0.75 * max(0.0, math.sin(math.pi * (hour - 7) / 14)) if 7 <= hour <= 21 else 0.2
    weekly = 0.45 if local.weekday() >= 5 else 1.0
    return daily * weekly


def trace_item(rng, m: DemoModel, request_id: str, n: int, executed: datetime, version: str, latency: float,
               fail_rate: float, feature_row: tuple, pick_user) -> dict:
    """One demo trace as the ingestion API takes it (random draws in a fixed order: seeds replay)."""
    module, feature, prompt, source_type, source = feature_row
    failed = rng.random() < fail_rate
    in_tok = int(rng.lognormvariate(math.log(600), 0.6))
    out_tok = 0 if failed else int(rng.lognormvariate(math.log(220), 0.5))
    item = {
        "request_id": request_id, "executed_at": executed.isoformat(), "model": m.name,
        "model_type": m.model_type, "base_model": m.base_model, "provider": m.provider,
        "source_type": source_type, "source": source, "module": module, "feature": feature,
        "prompt": prompt, "prompt_version": rng.choice(["1", "2", "2", "3"]),
        "user_id": pick_user(),
        "session_id": f"s-{n // 6}", "status": "failure" if failed else "success",
        "response_time_ms": round(latency, 2), "ttft_ms": round(latency * rng.uniform(0.12, 0.3), 2),
        "queue_time_ms": round(rng.expovariate(1 / 15), 2), "network_time_ms": round(rng.uniform(8, 40), 2),
        "input_tokens": in_tok, "output_tokens": out_tok, "cache_hit": rng.random() < 0.18,
        "http_status": 200, "input": f"[{feature}] request {n} from a demo user",
        "output": "" if failed else f"Demo answer {n} for {feature.lower()}.",
        "request_payload": {"messages": [{"role": "user", "content": f"{feature} request {n}"}]},
        "response_payload": None if failed else {"choices": [{"message": {"content": f"answer {n}"}}]},
        "metadata": {"region": rng.choice(["ap-south-1", "us-east-1", "eu-west-1"])},
    }
    if m.deployment:
        item.update(deployment=m.deployment, version=version,
                    credits=round(m.credit_per_request * rng.uniform(0.7, 1.3), 4))
    if m.connection:
        item["connection"] = m.connection
    if failed:
        error_type, http_status, _ = rng.choices(ERRORS, [e[2] for e in ERRORS])[0]
        item.update(error_type=error_type, http_status=http_status)
        if error_type == "timeout":
            item["response_time_ms"] = 30000.0
    return item


def _setup_registry(account, start: datetime):
    resolved = registry_resolve(
        account,
        models={m.name: {"model_type": m.model_type, "base_model": m.base_model, "provider": m.provider} for m in MODELS},
        deployments={(m.name, m.deployment): start for m in MODELS if m.deployment},
        versions={(m.name, m.deployment, v) for m in MODELS for v in m.versions},
        connections={m.connection: m.provider for m in MODELS if m.connection},
    )
    for m in MODELS:
        if m.price:
            ModelPrice.objects.get_or_create(account=account, model_id=resolved.models[m.name],
                                             effective_from=start - timedelta(days=365),
                                             defaults={"input_per_million_usd": Decimal(str(m.price[0])),
                                                       "output_per_million_usd": Decimal(str(m.price[1]))})
    for hardware, rate in [("A100-80GB", "4.2"), ("H100", "9.5"), ("L4", "1.1")]:
        HardwareRate.objects.get_or_create(account=account, hardware=hardware, effective_from=start - timedelta(days=365),
                                           defaults={"credits_per_replica_hour": Decimal(rate)})
    return resolved


def _replicas(account, resolved, start, end, rng):
    for m in MODELS:
        if not m.deployment:
            continue
        dep = Deployment.objects.get(pk=resolved.deployments[(m.name, m.deployment)])
        Deployment.objects.filter(pk=dep.pk).update(hardware=m.hardware, max_replicas=4)
        if ReplicaEvent.objects.for_account(account).filter(deployment=dep).exists():
            continue
        version_id = resolved.versions[(m.name, m.deployment, m.versions[-1])]
        at, events = start, []
        while at < end:
            replicas = 1 + int(3 * _rhythm(at, 5.5) + rng.random() * 0.8)
            hardware = m.hardware
            if m.name == "llama-3.1-70b" and (end - at).days < 3:
                hardware = "A100-80GB"  # moved to cheaper hardware recently
            events.append(ReplicaEvent(account=account, deployment=dep, version_id=version_id, at=at,
                                       replicas=min(replicas, 4), hardware=hardware))
            at += timedelta(hours=rng.choice([3, 4, 6]))
        ReplicaEvent.objects.bulk_create(events)
    ft = Model.objects.for_account(account).get(name="support-llama-ft")
    FineTuneJob.objects.get_or_create(account=account, external_id="ft-support-v4",
                                      defaults={"model": ft, "started_at": start + timedelta(days=5),
                                                "finished_at": start + timedelta(days=5, hours=6),
                                                "credits": Decimal("1840")})


def generate(account, *, days: int = 30, per_day: int = 3000, seed: int = 7, end: datetime | None = None,
             batch_size: int = 1000):
    """Generate and ingest; returns (accepted, duplicates, errors)."""
    rng = random.Random(seed)
    end = (end or datetime.now(timezone.utc)).replace(second=0, microsecond=0)
    start = end - timedelta(days=days)
    resolved = _setup_registry(account, start)
    _replicas(account, resolved, start, end, random.Random(seed + 1))  # own stream: traffic stays identical
    tz_offset = (end.astimezone(account.tzinfo).utcoffset() or timedelta()).total_seconds() / 3600
    users = [f"user-{i:04d}" for i in range(max(50, per_day // 12))]
    weights = [m.weight for m in MODELS]
    totals = [0, 0, 0]
    batch, feedback = [], []
    minutes = days * 24 * 60
    week = [_rhythm(start + timedelta(minutes=i), tz_offset) for i in range(0, 7 * 24 * 60, 10)]
    per_minute = per_day / (24 * 60) / (sum(week) / len(week))  # so a day averages per_day requests
    incident = (start + timedelta(days=days * 0.6), start + timedelta(days=days * 0.6, hours=3))
    slow = (start + timedelta(days=days * 0.8), start + timedelta(days=days * 0.8, hours=5))
    n = 0
    for minute in range(minutes):
        ts = start + timedelta(minutes=minute)
        expected = per_minute * _rhythm(ts, tz_offset)
        count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
        for _ in range(count):
            n += 1
            m = rng.choices(MODELS, weights)[0]
            feature_row = rng.choice(FEATURES)
            executed = ts + timedelta(seconds=rng.random() * 60)
            latency = rng.lognormvariate(math.log(m.latency_ms), 0.45)
            fail_rate = m.fail_rate
            if incident[0] <= executed < incident[1] and m.provider == "openai":
                fail_rate = 0.35
            if slow[0] <= executed < slow[1] and m.name == "llama-3.1-70b":
                latency *= 2.6
            version = ""
            if m.versions:
                version = m.versions[-1] if len(m.versions) == 1 or executed > start + timedelta(days=days * 0.5) \
                    else m.versions[0]
                if version == "v4":
                    latency *= 1.12
            pool = users[: max(10, int(len(users) * (0.6 + 0.4 * minute / minutes)))]
            item = trace_item(rng, m, f"demo-{seed}-{n}", n, executed, version, latency, fail_rate, feature_row,
                              lambda: rng.choice(pool))
            failed = item["status"] == "failure"
            batch.append(item)
            if not failed and rng.random() < 0.22:
                fb = {"request_id": item["request_id"]}
                fb["rating"] = max(1, min(5, round(rng.gauss(4.1 if m.provider != "openai" else 3.9, 0.9))))
                fb["thumbs"] = "up" if fb["rating"] >= 4 else "down"
                fb["accepted"] = rng.random() < 0.7
                fb["edited"] = rng.random() < 0.2
                fb["regenerated"] = rng.random() < 0.1
                fb["task_success"] = rng.random() < 0.8
                feedback.append(fb)
            if len(batch) >= batch_size:
                _flush(account, batch, totals, end)
    _flush(account, batch, totals, end)
    for fb in feedback:
        feedback_record(account, fb)
    return tuple(totals)


def _flush(account, batch, totals, now):
    if not batch:
        return
    result = trace_ingest_batch(account, list(batch), now=now + timedelta(minutes=1))
    totals[0] += result.accepted
    totals[1] += result.duplicates
    totals[2] += len(result.errors)
    batch.clear()
