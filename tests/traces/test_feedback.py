"""I3: feedback replaces on resend, may precede its trace, and never crosses accounts."""
import json
from datetime import datetime, timezone

from traces.models import DirtyBucket, Feedback
from tests.traces.test_ingest import post as ingest, trace


def send(client, body):
    return client.post("/api/v1/feedback", data=json.dumps(body), content_type="application/json")


def test_resend_replaces(account, key_client):
    api = key_client(account, ["ingest"])
    assert send(api, {"request_id": "r-0", "rating": 2, "thumbs": "down", "comment": "meh"}).status_code == 201
    response = send(api, {"request_id": "r-0", "rating": 5, "accepted": True})
    assert response.status_code == 200 and response.json()["rating"] == 5
    f = Feedback.objects.for_account(account).get()
    assert (f.rating, f.thumbs, f.accepted, f.comment) == (5, "", True, "")


def test_feedback_before_its_trace_is_kept_and_marks_the_hour_when_the_trace_exists(account, key_client):
    api = key_client(account, ["ingest"])
    send(api, {"request_id": "early", "task_success": True})
    assert not DirtyBucket.objects.for_account(account).exists()  # nothing to recompute yet
    ingest(api, [trace(0, request_id="early", executed_at="2026-11-21T08:15:00+00:00")])
    DirtyBucket.objects.for_account(account).delete()
    send(api, {"request_id": "early", "task_success": False, "edited": True})
    (bucket,) = DirtyBucket.objects.for_account(account)
    assert bucket.hour_start == datetime(2026, 11, 21, 8, tzinfo=timezone.utc)
    assert Feedback.objects.for_account(account).get(request_id="early").edited is True


def test_bad_feedback_is_400_with_the_field(account, key_client):
    api = key_client(account, ["ingest"])
    for body, field in [({"rating": 3}, "request_id"), ({"request_id": "r", "rating": 6}, "rating"),
                        ({"request_id": "r", "rating": "5"}, "rating"), ({"request_id": "r", "thumbs": "sideways"}, "thumbs"),
                        ({"request_id": "r", "accepted": "yes"}, "accepted"), ({"request_id": "r\x00"}, "request_id"),
                        ({"request_id": "r", "comment": "x\x00"}, "comment")]:
        response = send(api, body)
        assert response.status_code == 400, body
        assert field in response.json()["errors"], (body, response.json())
    assert send(api, ["not", "an", "object"]).status_code == 400
    assert api.post("/api/v1/feedback", data="{", content_type="application/json").status_code == 400


def test_feedback_never_attaches_to_another_accounts_trace(account, other_account, key_client):
    ingest(key_client(account, ["ingest"]), [trace(0, request_id="shared-id")])
    send(key_client(other_account, ["ingest"]), {"request_id": "shared-id", "rating": 1})
    assert not Feedback.objects.for_account(account).exists()
    assert Feedback.objects.for_account(other_account).get().rating == 1
    assert not DirtyBucket.objects.for_account(other_account).exists()
