"""D8: dashboards and widgets through the API — roles, validation against the metrics layer
and the account, order, pre-built dashboards, and tenancy."""
import importlib
from datetime import datetime, timezone

import pytest
from django.apps import apps

from accounts.models import Role
from analytics.selectors.aggregate import Agg
from dashboards import catalog
from dashboards.models import Dashboard, Widget
from dashboards.prebuilt import PREBUILT
from dashboards.services import dashboards_create_prebuilt, widget_errors
from models_registry.models import Model
from traces.services import trace_ingest_batch

URL = "/api/v1/dashboards"


def line(**over):
    return {"title": "Requests", "kind": "line", "metrics": ["total_requests"], "group_by": "time", **over}


def board(**over):
    return {"name": "Ops", "description": "on call", "preset": "last_24h", "widgets": [line()], **over}


def ingest(account, **fields):
    item = {"request_id": f"r-{account.slug}-{fields.get('prompt', 'x')}", "model": "gpt-4o", "status": "success",
            "executed_at": datetime.now(timezone.utc).isoformat(), "response_time_ms": 100.0, **fields}
    assert not trace_ingest_batch(account, [item]).errors


@pytest.fixture
def alice(account, member_of, session_client):
    return session_client(member_of(account, Role.MEMBER), account)


def test_every_account_starts_with_the_prebuilt_dashboards(account):
    rows = list(Dashboard.objects.for_account(account).order_by("position"))
    assert [d.name for d in rows] == ["Executive", "Performance", "Cost", "Quality"]
    assert [d.prebuilt for d in rows] == ["executive", "performance", "cost", "quality"]
    for d in rows:
        widgets = list(d.widgets.all())
        assert len(widgets) == len(PREBUILT[d.prebuilt]["widgets"]) >= 6
        assert {w.kind for w in widgets} >= {"metric", "table"}
        assert all(w.account_id == account.pk for w in widgets)
    assert {w.kind for w in Widget.objects.for_account(account)} == set(catalog.KINDS)
    # Idempotent: a second run adds nothing.
    assert dashboards_create_prebuilt(account) == []
    assert Dashboard.objects.for_account(account).count() == 4


def test_prebuilt_definitions_obey_the_widget_rules(account):
    for spec in PREBUILT.values():
        for widget in spec["widgets"]:
            assert widget_errors(account, widget) == {}, widget["title"]


def test_the_metric_catalogue_is_the_metrics_layers():
    layer = set(Agg().metrics())
    assert {name for name, _, _ in catalog.metric_choices()} <= layer
    assert len(catalog.metric_choices()) >= 30


def test_the_data_migration_gives_existing_accounts_their_dashboards(account):
    Dashboard.objects.for_account(account).delete()
    Dashboard.objects.create(account=account, name="Executive")  # a name already taken by a team's own board
    migration = importlib.import_module("dashboards.migrations.0002_prebuilt_for_existing_accounts")
    migration.forwards(apps, None)
    names = set(Dashboard.objects.for_account(account).values_list("name", flat=True))
    assert names == {"Executive", "Executive (pre-built)", "Performance", "Cost", "Quality"}
    assert Widget.objects.for_account(account).filter(dashboard__prebuilt="cost").count() == \
        len(PREBUILT["cost"]["widgets"])


def test_members_create_read_change_and_delete(alice, account):
    response = alice.post(URL, board(widgets=[line(), line(title="Cost", kind="pie", metrics=["total_cost_usd"],
                                                           group_by="prompt")]), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Ops" and body["preset"] == "last_24h" and body["created_by"] == "member@acme.test"
    assert [w["title"] for w in body["widgets"]] == ["Requests", "Cost"]
    assert [w["position"] for w in body["widgets"]] == [0, 1]
    pk = body["id"]
    assert Dashboard.objects.for_account(account).get(pk=pk).position == 4  # after the pre-built ones

    listed = alice.get(URL).json()["results"]
    assert [d["name"] for d in listed] == ["Executive", "Performance", "Cost", "Quality", "Ops"]

    changed = alice.patch(f"{URL}/{pk}", {"name": "Ops room", "widgets": [line(title="Only")]}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["name"] == "Ops room" and [w["title"] for w in changed.json()["widgets"]] == ["Only"]
    assert Widget.objects.for_account(account).filter(dashboard_id=pk).count() == 1

    # PATCH without widgets leaves them alone.
    assert alice.patch(f"{URL}/{pk}", {"description": "new"}, format="json").status_code == 200
    assert Widget.objects.for_account(account).filter(dashboard_id=pk).count() == 1

    assert alice.delete(f"{URL}/{pk}").status_code == 204
    assert not Dashboard.objects.filter(pk=pk).exists() and not Widget.objects.filter(dashboard_id=pk).exists()


def test_viewers_and_read_keys_read_but_never_write(account, member_of, session_client, key_client):
    viewer = session_client(member_of(account, Role.VIEWER), account)
    executive = Dashboard.objects.for_account(account).get(prebuilt="executive")
    assert viewer.get(URL).status_code == 200
    assert viewer.get(f"{URL}/{executive.pk}").json()["name"] == "Executive"
    assert viewer.post(URL, board(), format="json").status_code == 403
    assert viewer.patch(f"{URL}/{executive.pk}", {"name": "x"}, format="json").status_code == 403
    assert viewer.delete(f"{URL}/{executive.pk}").status_code == 403
    widget = executive.widgets.first()
    assert viewer.delete(f"{URL}/widgets/{widget.pk}").status_code == 403
    key = key_client(account, scopes=("read",))
    assert key.get(URL).status_code == 200
    assert key.post(URL, board(), format="json").status_code == 403
    assert Dashboard.objects.for_account(account).count() == 4


@pytest.mark.parametrize("widget, field, message", [
    (line(metrics=["no_such_metric"]), "metrics", "unknown metric 'no_such_metric'"),
    (line(metrics=[]), "metrics", "1 to 4"),
    (line(kind="metric", group_by="time"), "group_by", "one figure"),
    (line(kind="pie", group_by="time"), "group_by", "dimension"),
    (line(kind="pie", metrics=["total_requests", "total_cost_usd"], group_by="model"), "metrics", "exactly one"),
    (line(group_by="colour"), "group_by", "must be"),
    (line(kind="radar"), "kind", "must be one of line, bar, pie, table, metric"),
    (line(preset="fortnight"), "preset", "must be"),
    (line(filters={"colour": "red"}), "filters", "unknown filter"),
    (line(width=4), "width", "less than or equal"),
])
def test_invalid_widgets_are_a_400_naming_the_field(alice, widget, field, message):
    response = alice.post(URL, board(widgets=[line(), widget]), format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]["widgets"]
    assert list(errors) == ["1"], errors  # keyed by the widget's index
    assert message in str(errors["1"][field]), errors


def test_filters_must_name_this_accounts_model_and_prompt(alice, account, other_account):
    Model.objects.create(account=other_account, name="globex-secret-model")
    ingest(other_account, prompt="globex-secret-prompt")
    ingest(account, prompt="acme-prompt")
    Model.objects.get_or_create(account=account, name="gpt-4o")

    for name, value in (("model", "globex-secret-model"), ("prompt", "globex-secret-prompt"),
                        ("deployment", "nope"), ("version", "nope"), ("connection", "nope")):
        response = alice.post(URL, board(widgets=[line(filters={name: value})]), format="json")
        assert response.status_code == 400, (name, response.content)
        assert value in response.json()["errors"]["widgets"]["0"]["filters"][name][0]
        # The dashboard's own filters obey the same rule.
        response = alice.post(URL, board(name="Other", filters={name: value}), format="json")
        assert response.status_code == 400 and name in response.json()["errors"]["filters"]
    assert not Dashboard.objects.for_account(account).filter(name__in=["Ops", "Other"]).exists()

    ok = alice.post(URL, board(widgets=[line(filters={"model": "gpt-4o", "prompt": "acme-prompt",
                                                      "feature": "anything"})]), format="json")
    assert ok.status_code == 201, ok.content
    assert ok.json()["widgets"][0]["filters"] == {"model": "gpt-4o", "prompt": "acme-prompt", "feature": "anything"}


def test_names_are_unique_per_account(alice, other_account):
    assert alice.post(URL, board(name="executive"), format="json").json()["errors"] == {
        "name": ["a dashboard with this name exists in this account"]}
    Dashboard.objects.create(account=other_account, name="Ops")
    assert alice.post(URL, board(), format="json").status_code == 201


def test_single_widgets_and_reordering(alice, account):
    pk = alice.post(URL, board(widgets=[line(title="A"), line(title="B"), line(title="C")]),
                    format="json").json()["id"]
    ids = [w.pk for w in Widget.objects.for_account(account).filter(dashboard_id=pk).order_by("position")]

    response = alice.post(f"{URL}/{pk}/reorder-widgets", {"ids": [ids[2], ids[0], ids[1]]}, format="json")
    assert response.status_code == 204
    assert [w["title"] for w in alice.get(f"{URL}/{pk}").json()["widgets"]] == ["C", "A", "B"]
    assert alice.post(f"{URL}/{pk}/reorder-widgets", {"ids": ids[:2]}, format="json").status_code == 400

    added = alice.post(f"{URL}/widgets", {"dashboard": pk, **line(title="D", kind="metric", group_by="",
                                                                       metrics=["p95_latency_ms"])}, format="json")
    assert added.status_code == 201, added.content
    assert added.json()["position"] == 3
    wid = added.json()["id"]
    assert alice.patch(f"{URL}/widgets/{wid}", {"metrics": ["bogus"]}, format="json").json()["errors"] == {
        "metrics": ["unknown metric 'bogus'"]}
    assert alice.patch(f"{URL}/widgets/{wid}", {"title": "p95"}, format="json").json()["title"] == "p95"
    assert [w["title"] for w in alice.get(f"{URL}/widgets?dashboard={pk}").json()["results"]] == ["C", "A", "B", "p95"]
    assert alice.delete(f"{URL}/widgets/{wid}").status_code == 204

    order = [d["id"] for d in alice.get(URL).json()["results"]]
    assert alice.post(f"{URL}/reorder", {"ids": order[::-1]}, format="json").status_code == 204
    assert [d["id"] for d in alice.get(URL).json()["results"]] == order[::-1]
    assert alice.post(f"{URL}/reorder", {"ids": ["x"]}, format="json").status_code == 400


def test_catalogue_lists_what_widgets_may_name(alice):
    body = alice.get(f"{URL}/catalogue").json()
    assert body["kinds"] == ["line", "bar", "pie", "table", "metric", "alerts"]
    assert {"name": "p95_latency_ms", "label": "p95 latency", "unit": "ms"} in body["metrics"]
    assert {g["name"] for g in body["groupings"]} >= {"", "time", "model", "prompt", "feature"}
    assert body["presets"][0] == {"name": "last_7d", "label": "Last 7 days"}


def test_a_member_of_b_cannot_open_or_touch_as_dashboards(account, other_account, member_of, session_client):
    a_board = Dashboard.objects.for_account(account).get(prebuilt="executive")
    a_widget = a_board.widgets.first()
    bob = member_of(other_account, Role.MEMBER)
    b = session_client(bob, other_account)
    for method, url, data in (("get", f"{URL}/{a_board.pk}", None), ("patch", f"{URL}/{a_board.pk}", {"name": "x"}),
                              ("delete", f"{URL}/{a_board.pk}", None),
                              ("post", f"{URL}/{a_board.pk}/reorder-widgets", {"ids": [a_widget.pk]}),
                              ("get", f"{URL}/widgets/{a_widget.pk}", None),
                              ("patch", f"{URL}/widgets/{a_widget.pk}", {"title": "x"}),
                              ("delete", f"{URL}/widgets/{a_widget.pk}", None)):
        response = getattr(b, method)(url, data, format="json") if data else getattr(b, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)
    assert a_board.pk not in [d["id"] for d in b.get(URL).json()["results"]]
    assert a_widget.pk not in [w["id"] for w in b.get(f"{URL}/widgets").json()["results"]]
    # A widget cannot be attached to A's dashboard, and A's dashboard can't be reordered into B's list.
    response = b.post(f"{URL}/widgets", {"dashboard": a_board.pk, **line()}, format="json")
    assert response.status_code == 400 and "No such object" in str(response.json()["errors"]["dashboard"])
    b_ids = [d["id"] for d in b.get(URL).json()["results"]]
    assert b.post(f"{URL}/reorder", {"ids": b_ids + [a_board.pk]}, format="json").status_code == 400
    # Naming account A in the header answers as if it didn't exist.
    foreign = session_client(bob, account)
    assert foreign.get(URL).status_code == 404
    a_board.refresh_from_db()
    assert a_board.name == "Executive" and a_board.widgets.count() == len(PREBUILT["executive"]["widgets"])


def test_metric_cards_show_the_accounts_custom_metrics(alice, account, other_account):
    """L6 in D8: a custom metric of the account is offered for metric cards and answers with
    the value its formula gives over the same selection; another account's is refused."""
    from accounts.services import Actor
    from alerts.services.rules import custom_metric_create
    from traces.services import feedback_record

    satisfaction = custom_metric_create(account, Actor.system(), name="satisfaction",
                                        formula="thumbs_up / (thumbs_up + thumbs_down) * 100", unit="percent")
    foreign = custom_metric_create(other_account, Actor.system(), name="satisfaction",
                                   formula="thumbs_up * 2", unit="count")
    catalogue = alice.get(f"{URL}/catalogue").json()
    names = {m["name"]: m for m in catalogue["metrics"]}
    assert names[f"custom:{satisfaction.pk}"]["unit"] == "pct" and f"custom:{foreign.pk}" not in names

    card = {"title": "Satisfaction", "kind": "metric", "metrics": [f"custom:{satisfaction.pk}"], "group_by": ""}
    created = alice.post(URL, board(name="Quality board", widgets=[card]), format="json")
    assert created.status_code == 201, created.content
    for bad, message in (({**card, "metrics": [f"custom:{foreign.pk}"]}, "unknown metric"),
                         ({**card, "kind": "line", "group_by": "time"}, "metric card"),
                         ({**card, "metrics": ["custom:x1"]}, "unknown metric")):
        response = alice.post(URL, board(name="Bad board", widgets=[bad]), format="json")
        assert response.status_code == 400 and message in str(response.json()), bad

    for i, thumbs in enumerate(["up", "up", "up", "down"]):
        ingest(account, prompt=f"p{i}")
        feedback_record(account, {"request_id": f"r-{account.slug}-p{i}", "thumbs": thumbs})
    value = alice.get(f"/api/v1/custom-metrics/{satisfaction.pk}/value", {"preset": "today"}).json()
    assert value["value"] == 75.0


def test_alerts_widgets_name_no_metric_and_bad_ones_are_400_naming_the_field(alice, account):
    """Issue 18 item 10: an "alerts" widget lists the alert events of its selection; it takes
    filters, a range and how many events to list, never metrics or a grouping."""
    ingest(account, prompt="checkout")
    alerts = {"title": "Alerts", "kind": "alerts", "metrics": [], "group_by": "", "limit": 5,
              "filters": {"prompt": "checkout"}}
    created = alice.post(URL, board(widgets=[alerts, line()]), format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["widgets"][0] | {"id": 0, "position": 0} == {
        "id": 0, "position": 0, "title": "Alerts", "kind": "alerts", "metrics": [], "group_by": "",
        "filters": {"prompt": "checkout"}, "preset": "", "width": 1, "limit": 5}
    added = alice.post(f"{URL}/widgets", {"dashboard": pk, **alerts, "width": 3}, format="json")
    assert added.status_code == 201 and added.json()["width"] == 3
    for bad, field in (({"metrics": ["total_requests"]}, "metrics"), ({"group_by": "time"}, "group_by"),
                       ({"preset": "someday"}, "preset"), ({"filters": {"colour": "red"}}, "filters"),
                       ({"limit": 0}, "limit"), ({"width": 4}, "width")):
        response = alice.post(f"{URL}/widgets", {"dashboard": pk, **alerts, **bad}, format="json")
        assert response.status_code == 400 and field in response.json()["errors"], (bad, response.content)
    # A chart turned into an alerts list must drop its metrics; an alerts list turned into a chart needs them.
    wid = added.json()["id"]
    assert "metrics" in alice.patch(f"{URL}/widgets/{wid}", {"kind": "line", "group_by": "time"},
                                    format="json").json()["errors"]
    assert alice.patch(f"{URL}/widgets/{wid}", {"width": 2}, format="json").json()["width"] == 2
