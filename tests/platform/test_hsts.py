"""HSTS behind a TLS proxy (issue 16 item 9): the settings come from the environment at
start, so each case runs the product's settings in a fresh interpreter."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
django.setup()
from django.test import Client
c = Client(HTTP_HOST="127.0.0.1")
https = c.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
plain = c.get("/healthz")
print(json.dumps({"https": https.headers.get("Strict-Transport-Security"),
                  "plain": plain.headers.get("Strict-Transport-Security"), "secure": https.wsgi_request.is_secure()}))
"""


def probe(**env):
    environ = {k: v for k, v in os.environ.items() if k != "BEHIND_TLS_PROXY"}
    environ.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=environ, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_behind_a_tls_proxy_https_answers_carry_hsts_and_plain_ones_do_not():
    seen = probe(BEHIND_TLS_PROXY="true")
    assert seen == {"https": "max-age=31536000", "plain": None, "secure": True}


def test_without_a_tls_proxy_no_hsts_and_forwarded_proto_is_not_trusted():
    seen = probe()
    assert seen == {"https": None, "plain": None, "secure": False}
