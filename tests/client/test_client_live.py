"""The client against the real ingestion endpoint."""
import pytest

from accounts.services import Actor, account_create, api_key_create
from modelpulse_client import Client
from traces.models import Feedback, Trace

pytestmark = pytest.mark.django_db(transaction=True)


def test_client_to_live_server(live_server):
    account, _, _ = account_create(slug="cli", name="Client", owner_email="o@cli.test")
    key = api_key_create(account, Actor.system(), scopes=["ingest"])[1]
    mp = Client(live_server.url, key, flush_interval=0.1)
    ids = [mp.log_request(model="gpt-4o", status="success", response_time_ms=100 + i, feature="Chatbot")
           for i in range(25)]
    mp.log_request(model="gpt-4o", status="success", response_time_ms=-1)  # rejected by the server
    mp.log_feedback(ids[0], rating=4)
    assert mp.flush(10)
    mp.close()
    assert set(Trace.objects.for_account(account).values_list("request_id", flat=True)) == set(ids)
    assert Feedback.objects.for_account(account).get().rating == 4
    assert mp.stats()["sent"] == 26 and mp.stats()["rejected"] == 1
