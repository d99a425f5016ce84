"""Content-Security-Policy in headless Chromium: the sign-in page, the main console pages and
the API docs (Swagger UI and ReDoc) load under the policy with no violation reported, and
still render (screenshots csp-*.png in the tests' output folder)."""
from datetime import datetime, timedelta, timezone

import pytest

from accounts.services import account_create
from tests.alerts.conftest import ingest, roll_all, traffic

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES = ["overview/", "performance/", "models/", "production/", "usage/", "dashboards/", "dashboards/new/",
         "traces/", "alerts/", "alerts/channels/", "alerts/events/", "alerts/slas/", "alerts/metrics/",
         "alerts/reports/", "registry/", "budgets/", "settings/", "settings/members/", "settings/api-keys/",
         "settings/audit/", "settings/redaction/"]

# Recorded in the page before any of its scripts run.
LISTEN = """window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber));"""


def violations(page, console):
    seen = page.evaluate("window.__csp || []")
    return seen + [m for m in console if "Content Security Policy" in m or "Content-Security-Policy" in m]


def test_console_and_api_docs_run_under_the_policy(live_server, page, shot):
    acme, _, _ = account_create(slug="acme", name="Acme Analytics", owner_email="maya@acme.test",
                                password="console-pass-1", timezone_name="Asia/Kolkata")
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    ingest(acme, traffic("csp", now - timedelta(hours=3), 60, 2, fail_every=7, model="gpt-4o", cost=0.002),
           now=now)
    roll_all()
    console = []
    page.on("console", lambda msg: console.append(msg.text))
    page.add_init_script(LISTEN)
    base = live_server.url

    response = page.goto(f"{base}/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy and "unsafe-eval" not in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert violations(page, console) == []
    shot(page, "csp-login")
    page.fill("#id_username", "maya@acme.test")
    page.fill("#id_password", "console-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/a/acme/**")

    checked = 0
    for path in PAGES:
        url = f"{base}/a/acme/{path}"
        response = page.goto(url)
        assert response.status == 200, url
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").count() >= 1, url
        assert violations(page, console) == [], (url, violations(page, console))
        checked += 1
        if path in ("overview/", "traces/", "alerts/channels/"):
            shot(page, "csp-" + path.strip("/").replace("/", "-"))
    assert checked == len(PAGES)

    page.goto(f"{base}/api/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30000)
    assert violations(page, console) == [], violations(page, console)
    shot(page, "csp-api-docs")
    page.goto(f"{base}/api/redoc")
    page.wait_for_selector("[role=search], .api-content", timeout=30000)
    page.wait_for_load_state("networkidle")
    assert violations(page, console) == [], violations(page, console)
    shot(page, "csp-api-redoc")
