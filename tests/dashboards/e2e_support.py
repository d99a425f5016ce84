"""Helpers of the dashboard browser tests (tests/e2e/test_dashboards_*.py): demo traffic rolled
up, sign-in, waiting for a page's data, reading charts and the API as the page does."""
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from accounts.models import Role
from accounts.services import Actor, account_create, membership_invite, user_get_or_create
from analytics.rollups import rollup_process_dirty
from traces.demo import generate
from traces.services import trace_ingest_batch

PASSWORD = "dash-pass-123"


def roll_up():
    while rollup_process_dirty():
        pass


def seed(days=6, per_day=900):
    """Account acme (Asia/Kolkata) with demo traffic up to now, rolled up; members of each role.

    NOTE: `days` stays below the ranges the tests read (last 7 / 30 days), so no request sits
    at a sliding range's start, where a page and a later API call could disagree by one."""
    acme, owner, _ = account_create(slug="acme", name="Acme Analytics", owner_email="maya@acme.test",
                                    password=PASSWORD, timezone_name="Asia/Kolkata")
    for email, role in (("lee@acme.test", Role.MEMBER), ("ana@acme.test", Role.VIEWER)):
        membership_invite(acme, Actor(user=owner), email=email, role=role)
        user_get_or_create(email, password=PASSWORD)
    generate(acme, days=days, per_day=per_day, seed=11, end=datetime.now(timezone.utc))
    roll_up()
    return acme


def ingest_now(account, n, prefix="live"):
    """n successful requests a minute ago, rolled up (what beat does every minute)."""
    at = datetime.now(timezone.utc) - timedelta(minutes=1)
    items = [{"request_id": f"{prefix}-{i}", "executed_at": at.isoformat(), "model": "gpt-4o", "status": "success",
              "response_time_ms": 400.0, "prompt": "support-answer", "feature": "Chatbot", "user_id": f"{prefix}-user"}
             for i in range(n)]
    assert not trace_ingest_batch(account, items).errors
    roll_up()


def sign_in(page, base, email="maya@acme.test"):
    page.goto(f"{base}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/a/acme/**")


def loaded(page, at_least=1):
    """Wait until the page script finished `at_least` loads (body[data-loaded] counts them)."""
    page.wait_for_function("n => Number(document.body.dataset.loaded || 0) >= n", arg=at_least)
    return int(page.evaluate("Number(document.body.dataset.loaded)"))


def api(page, path, slug="acme"):
    """GET /api/v1/<path> with the page's session, as the page scripts call it."""
    return page.evaluate("""async ([path, slug]) => {
        const r = await fetch('/api/v1/' + path, {headers: {'X-Account': slug, Accept: 'application/json'}});
        return {status: r.status, body: await r.json().catch(() => null)};
    }""", [path, slug])


def shown_period(page):
    """The page's exact period ("start=…&end=…"), from its as-of stamp: the API's numbers for
    the same instants, however long after the page loaded they are asked for."""
    stamp = page.locator("[data-testid=as-of]")
    return urlencode({"start": stamp.get_attribute("data-start"), "end": stamp.get_attribute("data-end")})


def chart_points(page, selector):
    """Data points drawn by the Chart.js chart inside `selector` (-1: no chart there)."""
    return page.evaluate("""(sel) => {
        const canvas = document.querySelector(sel + ' canvas');
        if (!canvas || !window.Chart.getChart(canvas)) return -1;
        const chart = window.Chart.getChart(canvas);
        const filled = canvas.width > 0 && canvas.height > 0;
        const n = chart.data.datasets.reduce((a, d) => a + d.data.filter(v => v !== null && v !== undefined).length, 0);
        return filled ? n : -1;
    }""", selector)


def number(text):
    """'10,436' -> 10436; '$18.22' -> 18.22; '97.46%' -> 97.46."""
    cleaned = text.replace(",", "").replace("$", "").replace("%", "").replace("ms", "").strip()
    return float(cleaned)


def no_errors(page):
    assert page.console_errors == [], page.console_errors
