"""Operations of API.md: create_account, create_api_key; settings strictness."""
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import Account, Role

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_create_account_is_idempotent_and_validates_timezone():
    run("create_account", "acme", "--name", "Acme", "--owner", "Ops@Acme.test", "--password", "pw-12345",
        "--timezone", "Asia/Kolkata")
    again = run("create_account", "acme", "--name", "Other name", "--owner", "ops@acme.test")
    assert "exists" in again
    account = Account.objects.get(slug="acme")
    assert (account.name, account.timezone) == ("Acme", "Asia/Kolkata")
    assert account.memberships.get().role == Role.OWNER and account.memberships.get().user.email == "ops@acme.test"
    with pytest.raises(CommandError, match="timezone"):
        run("create_account", "bad", "--name", "Bad", "--owner", "x@bad.test", "--timezone", "Moon/Base")
    assert not Account.objects.filter(slug="bad").exists()


@pytest.mark.django_db
def test_create_api_key_prints_the_key_alone_on_the_last_line():
    run("create_account", "acme", "--name", "Acme", "--owner", "ops@acme.test")
    output = run("create_api_key", "acme", "--scopes", "read", "--name", "script")
    key = output.strip().splitlines()[-1]
    assert key.startswith("mp_") and " " not in key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/account").json()["slug"] == "acme"
    with pytest.raises(CommandError, match="scopes"):
        run("create_api_key", "acme", "--scopes", "write")
    with pytest.raises(CommandError, match="No account"):
        run("create_api_key", "nope")


def _import_settings(env):
    return subprocess.run([sys.executable, "-c", "import config.settings as s; print(s.DEBUG)"], cwd=ROOT,
                          env=env, capture_output=True, text=True)


def test_production_settings_need_a_secret_and_keep_debug_off():
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    base["DATABASE_URL"] = "postgres://u@db.invalid/x"
    result = _import_settings(base)
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr
    result = _import_settings(base | {"SECRET_KEY": "s"})
    assert result.stdout.strip() == "False"
    result = _import_settings(base | {"SECRET_KEY": "s", "DEBUG": "true"})
    assert result.stdout.strip() == "True"


def test_health_and_readiness(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "redis": "ok"}
