"""Migration 0007 moves each daily user row into the user arrays of its daily row."""
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("analytics", "0006_rollups_without_account_constraint")]
AFTER = [("analytics", "0007_daily_users_in_daily_rows")]
DIMS = dict(model_type="external", provider="openai", source_type="workflow", source="s", module="m",
            prompt="p", prompt_version="1")


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _sums():
    return {name: 0 for name in (
        "requests", "successes", "failures", "fail_timeout", "fail_rate_limit", "fail_llm_error", "fail_validation",
        "fail_system", "fail_network", "http_4xx", "http_5xx", "latency_sum", "latency_min", "latency_max",
        "ttft_count", "ttft_sum", "queue_sum", "network_sum", "input_tokens", "output_tokens", "cost_usd", "credits",
        "cache_hits", "ratings_count", "ratings_sum", "thumbs_up", "thumbs_down", "accepted", "edited", "regenerated",
        "task_success", "task_total", "feedback_count", "peak_minute_requests")} | {
        "latency_sketch": {}, "ttft_sketch": {}}


@pytest.mark.django_db(transaction=True)
def test_daily_users_move_into_their_daily_rows():
    apps = _migrate(BEFORE)
    try:
        account = apps.get_model("accounts", "Account").objects.create(slug="mig", name="Mig", timezone="UTC")
        DailyRollup, DailyUser = apps.get_model("analytics", "DailyRollup"), apps.get_model("analytics", "DailyUser")
        day = date(2026, 11, 20)
        for feature, deployment in (("chat", None), ("search", 7)):
            DailyRollup.objects.create(account=account, day=day, model_id=1, deployment_id=deployment,
                                       feature=feature, **DIMS, **_sums())
        users = [("chat", None, "u2", 3, "0.5"), ("chat", None, "u1", 1, "0.000000000001"), ("search", 7, "u1", 2, "2")]
        for feature, deployment, user, requests, cost in users:
            DailyUser.objects.create(account=account, day=day, user_id=user, model_id=1, deployment_id=deployment,
                                     feature=feature, requests=requests, cost_usd=Decimal(cost), **DIMS)
        DailyRollup.objects.create(account=account, day=day, model_id=1, feature="quiet", **DIMS, **_sums())

        apps = _migrate(AFTER)
        rows = {r.feature: r for r in apps.get_model("analytics", "DailyRollup").objects.filter(account_id=account.pk)}
        assert (rows["chat"].user_ids, rows["chat"].user_requests, rows["chat"].user_cost) == (
            ["u1", "u2"], [1, 3], [Decimal("0.000000000001"), Decimal("0.5")])
        assert (rows["search"].user_ids, rows["search"].user_requests, rows["search"].user_cost) == (
            ["u1"], [2], [Decimal("2")])
        assert (rows["quiet"].user_ids, rows["quiet"].user_requests, rows["quiet"].user_cost) == ([], [], [])
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
