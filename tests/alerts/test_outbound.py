"""Outbound requests (config/outbound.py): a real HTTP listener on 127.0.0.1 receives nothing
unless its network is allowed — refused when a channel is saved (API and console), refused
again when sending on the address actually resolved then, redirects not followed, and a
failed answer's body never stored."""
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.services import Actor
from alerts.models import AlertEvent, Channel, Delivery
from alerts.services import rules as rule_services
from alerts.services.delivery import delivery_attempt
from config import outbound
from tests.factories import FACTORIES

SECRET_BODY = "internal-admin-token-7f3a"


@pytest.fixture
def listener(settings):
    """A real listener on 127.0.0.1 whose network is NOT allowed (the default)."""
    settings.MODELPULSE_WEBHOOK_ALLOWED_NETWORKS = []
    settings.ALERT_DELIVERY_MAX_ATTEMPTS = 1
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append({"path": self.path, "host": self.headers.get("Host")})
            if self.path.startswith("/redirect"):
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/target")
                self.end_headers()
                return
            code = 500 if self.path.startswith("/fail") else 200
            body = SECRET_BODY.encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.seen = seen
    server.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def member_client(account, member_of, session_client):
    return session_client(member_of(account, Role.MEMBER), account)


def allow_loopback(settings):
    settings.MODELPULSE_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]


def pending_delivery(account, channel, transition="fired"):
    event = FACTORIES[AlertEvent](account, "OUT")
    return Delivery.objects.create(account=account, event=event, channel=channel, transition=transition)


@pytest.fixture
def resolver(monkeypatch):
    """DNS is outside the product: names ending in .rebind.test answer what the test says, in turn."""
    real = socket.getaddrinfo
    answers = {}

    def fake(host, port, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".rebind.test"):
            queue = answers[host]
            address = queue.pop(0) if len(queue) > 1 else queue[0]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return answers


REFUSED = [
    "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "100.127.255.254", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "0.0.0.0", "192.0.0.8",
    "198.18.0.1", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "fec0::1", "::ffff:127.0.0.1",
    "::ffff:169.254.169.254", "::ffff:10.0.0.1", "::127.0.0.1", "::a9fe:a9fe", "2002:7f00:1::", "2002:a9fe:a9fe::1",
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2001:0:4136:e378:8000:63bf:80ff:fffe", "2001:db8::1", "100::1",
]
ALLOWED = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"]


@pytest.mark.parametrize("address", REFUSED)
def test_addresses_off_the_public_internet_are_refused(settings, address):
    settings.MODELPULSE_WEBHOOK_ALLOWED_NETWORKS = []
    assert outbound.address_refusal(address), address


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass(settings, address):
    settings.MODELPULSE_WEBHOOK_ALLOWED_NETWORKS = []
    assert outbound.address_refusal(address) is None


def test_allowed_networks_open_exactly_themselves(settings):
    settings.MODELPULSE_WEBHOOK_ALLOWED_NETWORKS = ["10.20.0.0/16", "fd00:1::/32"]
    assert outbound.address_refusal("10.20.3.4") is None
    assert outbound.address_refusal("::ffff:10.20.3.4") is None
    assert outbound.address_refusal("fd00:1::5") is None
    assert outbound.address_refusal("10.21.0.1") and outbound.address_refusal("127.0.0.1")


@pytest.mark.parametrize("url", ["http://127.1/", "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/",
                                 "http://127.0.0.1./", "http://LOCALHOST/", "https://[::ffff:a9fe:a9fe]/",
                                 "http://[fe80::1%25eth0]/", "ftp://example.com/", "http:///nohost"])
def test_numeric_and_odd_forms_are_refused_by_the_guard_itself(settings, url):
    settings.MODELPULSE_WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(outbound.Refused):
        outbound.check_url(url)


@pytest.mark.django_db
def test_channels_to_internal_targets_are_refused_and_nothing_is_sent(account, member_client, listener):
    port = listener.server_port
    targets = [f"{listener.base}/hook", f"http://[::1]:{port}/", f"http://localhost:{port}/",
               f"http://app.localhost:{port}/", "http://169.254.169.254/latest/meta-data/",
               f"http://127.1:{port}/", f"http://2130706433:{port}/", f"http://0x7f000001:{port}/",
               f"http://0177.0.0.1:{port}/", f"http://[::ffff:127.0.0.1]:{port}/", f"http://[::ffff:7f00:1]:{port}/",
               "http://10.0.0.1/", "http://100.64.0.1/", "http://[fd00::1]/", "http://0.0.0.0:80/",
               f"http://user@127.0.0.1:{port}/"]
    for kind, extra in (("webhook", {}), ("slack", {}), ("pagerduty", {"routing_key": "R0UTE"})):
        for i, url in enumerate(targets):
            response = member_client.post("/api/v1/channels", {"name": f"{kind}{i}", "type": kind, "url": url,
                                                               **extra}, format="json")
            assert response.status_code == 400, (kind, url, response.content)
            assert response.json()["errors"]["url"], response.json()
    assert not Channel.objects.for_account(account).exclude(kind="in_app").exists()
    # Updating a public channel to an internal address is refused the same way.
    hook = member_client.post("/api/v1/channels", {"name": "ok", "type": "webhook",
                                                   "url": "https://hooks.example.test/x"}, format="json").json()
    response = member_client.patch(f"/api/v1/channels/{hook['id']}", {"url": f"{listener.base}/x"}, format="json")
    assert response.status_code == 400 and "loopback" in response.json()["errors"]["url"][0]
    assert Channel.objects.get(pk=hook["id"]).url == "https://hooks.example.test/x"
    assert listener.seen == []


@pytest.mark.django_db
def test_console_form_shows_the_refusal(account, member_client, listener):
    url = reverse("alerts-channels", kwargs={"account_slug": account.slug})
    response = member_client.post(url, {"name": "internal", "kind": "webhook", "url": f"{listener.base}/hook"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "not allowed" in html and "a loopback address" in html
    assert not Channel.objects.for_account(account).filter(name="internal").exists()
    assert listener.seen == []


@pytest.mark.django_db
def test_allowed_network_is_delivered_and_then_refused_when_disallowed(account, listener, settings):
    allow_loopback(settings)
    channel = rule_services.channel_create(account, Actor.system(), name="internal", kind="webhook",
                                           url=f"{listener.base}/hook")
    assert delivery_attempt(pending_delivery(account, channel).pk).status == "delivered"
    assert [r["path"] for r in listener.seen] == ["/hook"]
    # The operator removes the network: the saved channel is refused at send time.
    settings.MODELPULSE_WEBHOOK_ALLOWED_NETWORKS = []
    delivery = pending_delivery(account, channel, "resolved")
    assert delivery_attempt(delivery.pk).status == "failed"
    delivery.refresh_from_db()
    assert "Refused" in delivery.last_error and "loopback" in delivery.last_error
    assert len(listener.seen) == 1


@pytest.mark.django_db
def test_a_name_that_resolves_to_loopback_at_send_time_is_refused(account, listener, resolver):
    """DNS rebinding: public when saved, loopback when sending."""
    resolver["hooks.rebind.test"] = ["93.184.216.34", "127.0.0.1"]
    channel = rule_services.channel_create(account, Actor.system(), name="rebinding", kind="webhook",
                                           url=f"http://hooks.rebind.test:{listener.server_port}/hook")
    delivery = pending_delivery(account, channel)
    assert delivery_attempt(delivery.pk).status == "failed"
    delivery.refresh_from_db()
    assert "127.0.0.1 is a loopback address" in delivery.last_error
    # A name with several addresses is refused when any of them is internal.
    resolver["multi.rebind.test"] = ["93.184.216.34"]
    rule_services.channel_create(account, Actor.system(), name="multi", kind="slack",
                                 url=f"http://multi.rebind.test:{listener.server_port}/slack")
    with pytest.raises(outbound.Refused):
        resolver["multi.rebind.test"] = ["::1"]
        outbound.post(f"http://multi.rebind.test:{listener.server_port}/slack", b"{}")
    assert listener.seen == []


@pytest.mark.django_db
def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(account, listener, resolver, settings):
    """The first answer is checked and connected to; a later, different answer is never used."""
    allow_loopback(settings)
    resolver["pinned.rebind.test"] = ["127.0.0.1", "192.0.2.1"]
    url = f"http://pinned.rebind.test:{listener.server_port}/pinned"
    response = outbound.post(url, b"{}", {"Content-Type": "application/json"})
    assert response.status == 200
    assert listener.seen == [{"path": "/pinned", "host": f"pinned.rebind.test:{listener.server_port}"}]


@pytest.mark.django_db
def test_redirects_are_not_followed_and_failure_bodies_not_kept(account, listener, settings, member_client):
    allow_loopback(settings)
    redirect = rule_services.channel_create(account, Actor.system(), name="redirect", kind="webhook",
                                            url=f"{listener.base}/redirect")
    failing = rule_services.channel_create(account, Actor.system(), name="failing", kind="slack",
                                           url=f"{listener.base}/fail")
    moved = pending_delivery(account, redirect)
    assert delivery_attempt(moved.pk).status == "failed"
    moved.refresh_from_db()
    assert moved.response_status == 302 and moved.last_error == "HTTP 302 (redirects are not followed)"
    assert [r["path"] for r in listener.seen] == ["/redirect"]  # /target was never requested
    broken = pending_delivery(account, failing)
    assert delivery_attempt(broken.pk).status == "failed"
    broken.refresh_from_db()
    assert broken.response_status == 500 and broken.last_error == "HTTP 500"
    assert [r["path"] for r in listener.seen] == ["/redirect", "/fail"]
    # Nowhere a user can read it: not in the API's deliveries, not on the channel page.
    assert SECRET_BODY not in member_client.get("/api/v1/alert-deliveries").content.decode()
    page = member_client.get(reverse("alerts-channel", kwargs={"account_slug": account.slug, "pk": failing.pk}))
    assert page.status_code == 200 and SECRET_BODY not in page.content.decode()
