"""Demo traffic: varied, deterministic, and stored through the ingestion service."""
import io
from collections import Counter

from django.core.management import call_command

from analytics.models import HourlyTotal
from models_registry.models import FineTuneJob, Model, ReplicaEvent
from traces.models import DirtyBucket, Feedback, Trace

END = "2026-11-20T12:00:00+00:00"


def test_demo_traffic_covers_the_product(account):
    out = io.StringIO()
    call_command("demo_traffic", account.slug, "--days", "3", "--per-day", "1500", "--seed", "3", "--end", END, stdout=out)
    traces = Trace.objects.for_account(account)
    total = traces.count()
    assert 3000 <= total <= 6000, total
    assert f"{total} traces stored" in out.getvalue()
    assert set(Model.objects.for_account(account).values_list("model_type", flat=True)) == \
        {"fine_tuned", "open_source", "external"}
    errors = Counter(traces.filter(status="failure").values_list("error_type", flat=True))
    assert set(errors) == {"timeout", "rate_limit", "llm_error", "validation", "system", "network"}
    assert traces.exclude(deployment=None).exclude(version=None).exists()
    assert traces.exclude(connection=None).filter(cost_usd__gt=0).exists()
    assert len(set(traces.values_list("feature", flat=True))) >= 5
    assert Feedback.objects.for_account(account).count() > total * 0.1
    assert ReplicaEvent.objects.for_account(account).exists() and FineTuneJob.objects.for_account(account).exists()
    # The command builds the rollups itself: nothing is left dirty and the totals hold every trace.
    assert "Rollups built for" in out.getvalue() and not DirtyBucket.objects.for_account(account).exists()
    assert sum(HourlyTotal.objects.for_account(account).values_list("requests", flat=True)) == total
    # Same seed again: every trace is a duplicate, nothing is stored twice.
    call_command("demo_traffic", account.slug, "--days", "3", "--per-day", "1500", "--seed", "3", "--end", END,
                 stdout=io.StringIO())
    assert Trace.objects.for_account(account).count() == total
