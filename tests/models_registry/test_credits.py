"""T5: deployment credits = ∫ replicas × rate dt, checked against a hand computation."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from models_registry.models import Deployment, DeploymentVersion, HardwareRate, Model, ReplicaEvent
from models_registry.services import account_deployment_credits, deployment_credits, replica_series

UTC = timezone.utc


def at(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def scaled(account):
    """A deployment on 10 Nov 08:00 → 11 Nov 20:00 with these steps (v1 only unless noted):

      08:00  2 × A100          A100 rate 4.0 /replica-hour; from 10 Nov 12:00 rate 5.0
      10:30  3 × A100
      13:00  3 × H100          H100 rate 9.0
      15:00  1 × H100; v2 starts with 2 × A100 (both versions run until 18:00)
      18:00  v1 → 0
    """
    model = Model.objects.create(account=account, name="support-ft", model_type="fine_tuned")
    dep = Deployment.objects.create(account=account, model=model, name="support", hardware="A100",
                                    max_replicas=5, deployed_at=at(10, 8), undeployed_at=at(11, 20))
    v1 = DeploymentVersion.objects.create(account=account, deployment=dep, version="v1")
    v2 = DeploymentVersion.objects.create(account=account, deployment=dep, version="v2")
    HardwareRate.objects.create(account=account, hardware="A100", credits_per_replica_hour=Decimal("4.0"),
                                effective_from=at(1, 0))
    HardwareRate.objects.create(account=account, hardware="A100", credits_per_replica_hour=Decimal("5.0"),
                                effective_from=at(10, 12))
    HardwareRate.objects.create(account=account, hardware="H100", credits_per_replica_hour=Decimal("9.0"),
                                effective_from=at(1, 0))
    for when, version, replicas, hw in [
        (at(10, 8), v1, 2, "A100"), (at(10, 10, 30), v1, 3, "A100"), (at(10, 13), v1, 3, "H100"),
        (at(10, 15), v1, 1, "H100"), (at(10, 15), v2, 2, "A100"), (at(10, 18), v1, 0, "H100"),
    ]:
        ReplicaEvent.objects.create(account=account, deployment=dep, version=version, at=when, replicas=replicas,
                                    hardware=hw)
    return dep


def test_whole_life_matches_hand_computation(account, scaled):
    hand = (
        Decimal("2") * 4 * Decimal("2.5")      # 08:00–10:30  2 × A100 @4
        + Decimal("3") * 4 * Decimal("1.5")    # 10:30–12:00  3 × A100 @4
        + Decimal("3") * 5 * 1                 # 12:00–13:00  3 × A100 @5 (rate change mid-step)
        + Decimal("3") * 9 * 2                 # 13:00–15:00  3 × H100 @9
        + (Decimal("1") * 9 + 2 * 5) * 3       # 15:00–18:00  v1 1 × H100 + v2 2 × A100
        + Decimal("2") * 5 * 26                # 18:00–(11th)20:00  v2 2 × A100 until undeployed
    )
    assert hand == Decimal("424")
    assert deployment_credits(account, scaled, at(1, 0), at(30, 0)) == hand


def test_ranges_cutting_through_steps(account, scaled):
    # 09:15–13:45: 2×4×1.25 + 3×4×1.5 + 3×5×1 + 3×9×0.75
    expected = Decimal("10") + Decimal("18") + Decimal("15") + Decimal("20.25")
    assert deployment_credits(account, scaled, at(10, 9, 15), at(10, 13, 45)) == expected
    # Before deployment and after undeployment there is nothing.
    assert deployment_credits(account, scaled, at(9, 0), at(10, 8)) == 0
    assert deployment_credits(account, scaled, at(11, 20), at(12, 0)) == 0
    # Additivity: splitting a range anywhere gives the same total.
    cut = at(10, 16, 7)
    whole = deployment_credits(account, scaled, at(10, 0), at(12, 0))
    assert deployment_credits(account, scaled, at(10, 0), cut) + deployment_credits(account, scaled, cut, at(12, 0)) == whole


def test_sub_second_precision_is_exact(account, scaled):
    start = at(10, 9)
    end = start + timedelta(seconds=1, microseconds=500)
    # 2 replicas × 4 credits/hour × 1.0005 s / 3600
    assert deployment_credits(account, scaled, start, end) == Decimal(2) * 4 * Decimal("1.0005") / 3600


def test_account_total_and_breakdown(account, scaled):
    other = Deployment.objects.create(account=account, model=scaled.model, name="batch", hardware="H100",
                                      deployed_at=at(10, 0))
    ReplicaEvent.objects.create(account=account, deployment=other, at=at(10, 0), replicas=1, hardware="H100")
    result = account_deployment_credits(account, at(10, 0), at(10, 10))
    assert result["by_deployment"] == {scaled.pk: Decimal("16"), other.pk: Decimal("90")}
    assert result["total"] == Decimal("106")


def test_replica_series_steps_and_multiple_hardware(account, scaled):
    points = replica_series(account, scaled, at(10, 0), at(10, 19))
    # Each count holds from its own event's time on; the versions running are named (001).
    assert [(p["at"], p["replicas"], p["hardware"], p["versions"]) for p in points] == [
        (at(10, 8), 2, "A100", ["v1"]),
        (at(10, 10, 30), 3, "A100", ["v1"]),
        (at(10, 13), 3, "H100", ["v1"]),
        (at(10, 15), 3, "Multiple Hardware", ["v1", "v2"]),
        (at(10, 18), 2, "A100", ["v2"]),
        (at(10, 19), 2, "A100", ["v2"]),
    ]


def test_deployment_label_in_account_timezone_with_zone(account, scaled):
    from zoneinfo import ZoneInfo

    assert scaled.label_in(ZoneInfo("Asia/Kolkata")) == "support (deployed 2026-11-10 13:30 IST)"
    assert scaled.label_in(ZoneInfo("UTC")) == "support (deployed 2026-11-10 08:00 UTC)"
    assert scaled.label_in(ZoneInfo("America/Sao_Paulo")) == "support (deployed 2026-11-10 05:00 UTC-03:00)"


def test_other_accounts_rates_and_events_are_ignored(account, other_account, scaled):
    HardwareRate.objects.create(account=other_account, hardware="A100", credits_per_replica_hour=Decimal("1000"),
                                effective_from=at(10, 9))
    assert deployment_credits(account, scaled, at(1, 0), at(30, 0)) == Decimal("424")
