"""DATABASE_REPLICA_URLS as settings read it: one alias per URL, mirrored for the test runner,
and nothing at all without it."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOW = ("import django; from django.conf import settings; django.setup(); import json; "
        "print(json.dumps({'databases': {a: {k: d.get(k) for k in ('HOST', 'PORT', 'NAME', 'TEST', 'OPTIONS')} "
        "for a, d in settings.DATABASES.items()}, 'routers': settings.DATABASE_ROUTERS, "
        "'max_lag': settings.MODELPULSE_REPLICA_MAX_LAG}))")


def settings_with(**env):
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_REPLICA_URLS", "MODELPULSE_REPLICA_MAX_LAG")}
    base.update(DJANGO_SETTINGS_MODULE="config.settings", SECRET_KEY="x" * 50,
                DATABASE_URL="postgres://app@primary.internal:5432/modelpulse", **env)
    out = subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=base, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_no_replica_configured_leaves_default_alone():
    shown = settings_with()
    assert list(shown["databases"]) == ["default"] and shown["max_lag"] == 30.0


def test_each_replica_url_becomes_an_alias_the_test_runner_mirrors():
    shown = settings_with(DATABASE_REPLICA_URLS="postgres://app@replica-a:5432/modelpulse, "
                                                "postgres://app@replica-b:6432/modelpulse",
                          MODELPULSE_REPLICA_MAX_LAG="5")
    dbs = shown["databases"]
    assert list(dbs) == ["default", "replica_0", "replica_1"]
    assert (dbs["replica_0"]["HOST"], dbs["replica_1"]["HOST"], dbs["replica_1"]["PORT"]) == \
        ("replica-a", "replica-b", 6432)
    assert dbs["replica_0"]["TEST"]["MIRROR"] == "default" and dbs["replica_0"]["OPTIONS"]["connect_timeout"] == 3
    assert "jit=off" in dbs["replica_1"]["OPTIONS"]["options"]
    assert shown["routers"] == ["config.db_router.ReplicaRouter"] and shown["max_lag"] == 5.0
