"""The Traces page in headless Chromium with a real Celery worker: sign in, pick a model, search,
filter (AND/OR, m:s:ms), hide a column, open a trace in JSON mode and copy it, pick a period on the
calendar, export to CSV and download the file. Screenshots: traces-*.png in the tests' output folder."""
import csv
import io
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import Role
from accounts.services import account_create, membership_invite, user_get_or_create, Actor
from analytics.rollups import rollup_process_dirty
from models_registry.models import Connection
from traces.models import ExplorerPreference, ExportJob
from traces.services import feedback_record, trace_ingest_batch

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
QUESTIONS = [
    ("How do I get a refund for order #{n}?", "Refunds go back to the original card within 5 working days. "
                                                "I have opened refund request R-{n} for you."),
    ("Summarise ticket {n}: printer offline after the update", "The printer lost its network settings after "
                                                                "firmware 2.1; re-adding it fixed ticket {n}."),
    ("Translate to German: your parcel {n} is on its way", "Ihr Paket {n} ist unterwegs."),
    ("Write a polite reminder about invoice {n}", "Hello, a gentle reminder that invoice {n} is due on Friday."),
]
SOURCES = [("workflow", "ticket-triage"), ("prompt", "support-answer"), ("api_key", "crm-sync"),
           ("workflow", "refund-bot")]


def seed():
    acme, maya, _ = account_create(slug="acme", name="Acme Analytics", owner_email="maya@acme.test",
                                   password="console-pass-1", timezone_name="Asia/Kolkata")
    membership_invite(acme, Actor(user=maya), email="lee@acme.test", role=Role.MEMBER)
    user_get_or_create("lee@acme.test", password="p-lee-12345")
    Connection.objects.create(account=acme, name="openai-prod", provider="openai")
    items = []
    for i in range(160):
        question, answer = QUESTIONS[i % 4]
        source_type, source = SOURCES[i % 4]
        hosted = i % 4 != 3
        failed = i % 9 == 0
        item = {
            "request_id": f"run-{7000 + i}", "executed_at": (NOW - timedelta(minutes=97 * i + 5)).isoformat(),
            "model": "support-llama-ft" if hosted else "gpt-4o",
            "model_type": "fine_tuned" if hosted else "external",
            "status": "failure" if failed else "success", "response_time_ms": 420.0 + (i * 173) % 5200,
            "source_type": source_type, "source": source, "input": question.format(n=4100 + i),
            "output": "" if failed else answer.format(n=4100 + i), "input_tokens": 40 + i % 90,
            "output_tokens": 0 if failed else 60 + i % 140, "user_id": f"agent-{i % 6}",
            "request_payload": {"model": "support-llama-ft", "temperature": 0.2,
                                "messages": [{"role": "system", "content": "You are Acme's support assistant."},
                                             {"role": "user", "content": question.format(n=4100 + i)}]},
        }
        if failed:
            item.update(error_type="timeout" if i % 2 else "llm_error", http_status=504 if i % 2 else 500)
        if hosted:
            item.update(deployment="support-prod", version="v2" if i % 3 else "v1", base_model="llama-3.1-8b",
                        credits=0.25)
        else:
            item.update(connection="openai-prod", provider="openai", cost_usd=0.0021)
        items.append(item)
    result = trace_ingest_batch(acme, items)
    assert not result.errors
    feedback_record(acme, {"request_id": "run-7001", "rating": 5, "thumbs": "up", "comment": "Spot on"})
    while rollup_process_dirty():
        pass
    return acme, items


@pytest.fixture
def worker(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                                          f"/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "SECRET_KEY": "test", "MEDIA_ROOT": settings.MEDIA_ROOT,
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
                             "--loglevel", "WARNING"], cwd=ROOT, env=env, start_new_session=True)
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


def visible_ids(page):
    return page.locator("#tx-rows tr[data-request-id]").evaluate_all("rows => rows.map(r => r.dataset.requestId)")


def wait_rows(page):
    page.wait_for_function("() => !document.querySelector('#tx-rows .tx-loading')")


def test_traces_journey(live_server, page, shot, worker):
    acme, items = seed()
    hosted = sorted((i for i in items if i["model"] == "support-llama-ft"), key=lambda i: i["executed_at"],
                    reverse=True)
    in_range = [i for i in hosted if datetime.fromisoformat(i["executed_at"]) >= NOW - timedelta(days=30)]

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "lee@acme.test")
    page.fill("#id_password", "p-lee-12345")
    page.click("button[type=submit]")
    page.wait_for_url("**/a/acme/**")
    page.locator(".sidebar .nav-item", has_text="Traces").click()
    page.wait_for_url("**/a/acme/traces/")

    # First visit: pick a model.
    assert page.locator("#tx-first-visit").is_visible()
    assert page.locator("#tx-time-label").inner_text() == "Last 30 Days"
    page.select_option("#tx-model", "support-llama-ft")
    wait_rows(page)
    page.wait_for_function("() => document.querySelector('#tx-total').textContent !== '—'")
    assert page.locator("#tx-total").inner_text() == f"{len(in_range):,}"
    assert page.locator("#tx-credits-card").is_visible()
    assert visible_ids(page) == [i["request_id"] for i in in_range[:50]]
    first = page.locator("#tx-rows tr").first
    assert first.locator(".tx-status").get_attribute("title") in ("Success", "Failed: timeout", "Failed: llm_error")
    page.mouse.move(0, 0)
    shot(page, "traces-table")

    # Older page, then back.
    page.click("#tx-older")
    wait_rows(page)
    assert visible_ids(page) == [i["request_id"] for i in in_range[50:100]]
    page.click("#tx-newer")
    wait_rows(page)
    assert visible_ids(page)[0] == in_range[0]["request_id"]

    # Search by text, then by request ID.
    page.fill("#tx-search", "refund")
    page.keyboard.press("Enter")
    wait_rows(page)
    refunds = [i["request_id"] for i in in_range if "refund" in (i["input"] + i["output"]).lower()]
    assert visible_ids(page) == refunds[:50] and refunds
    page.fill("#tx-search", in_range[3]["request_id"])
    page.keyboard.press("Enter")
    wait_rows(page)
    assert visible_ids(page) == [in_range[3]["request_id"]]
    page.fill("#tx-search", "")
    page.keyboard.press("Enter")
    wait_rows(page)

    # Filters: failed OR slower than 0:4:500; the filter icon counts them.
    page.click("[data-testid=filter-button]")
    page.click("#tx-add-step")
    page.click("#tx-add-step")
    steps = page.locator("[data-testid=filter-step]")
    steps.nth(1).locator("[data-field=column]").select_option("response_time")
    steps.nth(1).locator("[data-field=operator]").select_option("gt")
    steps.nth(1).locator("[data-field=value]").fill("0:4:500")
    page.click(".tx-join [data-join=or]")
    shot(page, "traces-filters")
    page.click("#tx-apply-steps")
    wait_rows(page)
    want = [i["request_id"] for i in in_range if i["status"] == "failure" or int(i["response_time_ms"]) > 4500]
    assert visible_ids(page) == want[:50] and len(want) < len(in_range)
    assert page.locator("#tx-filter-count").inner_text() == "2"
    # A response time that is not m:s:ms is refused with the reason, in the builder.
    page.click("[data-testid=filter-button]")
    page.locator("[data-testid=filter-step]").nth(1).locator("[data-field=value]").fill("4.5 seconds")
    page.click("#tx-apply-steps")
    page.wait_for_selector("#tx-filter-error:not([hidden])")
    assert "m:s:ms" in page.locator("#tx-filter-error").inner_text()
    assert page.locator("#tx-filter-count").inner_text() == "2"
    page.locator("[data-testid=filter-step]").nth(1).locator("[data-field=value]").fill("0:4:500")
    page.click("#tx-apply-steps")
    wait_rows(page)

    # Hide the Source column: remembered, like the model.
    page.click("[data-testid=columns-button]")
    page.locator("#tx-column-list input[data-column=source]").uncheck()
    assert page.locator("#tx-column-list input").count() == 8
    page.keyboard.press("Escape")
    assert "Source" not in page.locator("#tx-head").text_content().replace("Source Type", "")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # saved in the background
        pref = ExplorerPreference.objects.for_account(acme).filter(user__email="lee@acme.test").first()
        if pref and pref.hidden_columns == ["source"]:
            break
        time.sleep(0.1)
    assert pref.hidden_columns == ["source"] and pref.selection["model"] == "support-llama-ft"

    # A trace in full: JSON mode names the model with its version; copy to the clipboard.
    target = want[0]
    page.locator(f"#tx-rows tr[data-request-id='{target}']").click()
    page.wait_for_selector("#tx-d-meta dt")
    detail = next(i for i in items if i["request_id"] == target)
    assert page.locator("[data-testid=detail-input]").inner_text() == detail["input"]
    meta = page.locator("[data-testid=detail-meta]").inner_text()
    assert "llama-3.1-8b" in meta and "support-prod" in meta and detail["user_id"] in meta
    page.click("[data-testid=json-mode]")
    shown = page.locator("[data-testid=detail-input]").inner_text()
    assert f'"model": "support-llama-ft:{detail["version"]}"' in shown and '"temperature": 0.2' in shown
    page.click("[data-testid=copy-input]")
    page.wait_for_function("() => document.querySelector('[data-testid=copy-input]').dataset.copied === '1'")
    assert '"temperature": 0.2' in page.evaluate("navigator.clipboard.readText()")
    page.mouse.move(0, 0)
    shot(page, "traces-detail")
    page.click("#tx-drawer-close")

    # Export what is shown (CSV, every column) and download it.
    page.click("#tx-export")
    # The menu says which zone the file's times are in (issue 18 item 2).
    assert "executed_on in Asia/Kolkata" in page.locator("#tx-export-menu [data-format=csv]").inner_text()
    page.click("#tx-export-menu [data-format=csv]")
    page.wait_for_selector("#tx-export-list li[data-status=succeeded]", timeout=60000)
    # "Export ready" replaces "Preparing …": the stale toast is gone, not shown beside it (issue 18).
    page.wait_for_selector(".toast.success >> text=Export ready", timeout=10000)
    page.wait_for_selector(".toast[data-preparing]", state="detached", timeout=2000)
    assert page.locator(".toast", has_text="Preparing").count() == 0
    assert "(Asia/Kolkata)" in page.locator("#tx-export-list li[data-status=succeeded]").inner_text()
    job = ExportJob.objects.for_account(acme).get()
    assert job.filename == "support-llama-ft_traces_data.csv" and job.rows_written == len(want)
    with page.expect_download() as download_info:
        page.locator("#tx-export-list [data-download]").first.click()
    download = download_info.value
    assert download.suggested_filename == "support-llama-ft_traces_data.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert [r["request_id"] for r in rows] == want and "source" in rows[0]
    page.wait_for_selector(".toast.success >> text=Downloaded support-llama-ft_traces_data.csv")
    page.mouse.move(0, 0)
    shot(page, "traces-export")

    # A period from the calendar: yesterday onwards, then a preset.
    page.click("[data-testid=time-button]")
    page.click("#tx-presets [data-preset=yesterday]")
    assert "–" in page.locator("#tx-cal-range").inner_text()
    shot(page, "traces-calendar")
    page.click("#tx-cal-apply")
    wait_rows(page)
    assert page.locator("#tx-time-label").inner_text() == "Yesterday"

    # Back on another day: the model and the hidden column are remembered, the period is 30 days again.
    page.reload()
    wait_rows(page)
    assert page.locator("#tx-model").input_value() == "support-llama-ft"
    assert page.locator("#tx-time-label").inner_text() == "Last 30 Days"
    assert "Source Type" in page.locator("#tx-head").text_content()
    assert page.locator("#tx-head th", has_text="Source").count() == 1  # only "Source Type"
    # External models: no hosting credits, no deployment version column.
    page.select_option("#tx-model", "gpt-4o")
    wait_rows(page)
    page.wait_for_function("() => document.querySelector('#tx-credits-card').hidden")
    assert "Deployment Version" not in page.locator("#tx-head").text_content()
    # The only failed request is the refused response time above.
    assert [e for e in page.console_errors if "status of 400" not in e] == []
    assert len(page.console_errors) == 1
