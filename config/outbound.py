"""Every HTTP request the product makes to an address a user typed goes through here.

`check_url(url)` refuses a target that is not on the public internet (loopback, private,
link-local, shared/CGNAT, multicast, reserved, unspecified — IPv4 and IPv6, including
IPv4 written inside IPv6) unless the operator allowed its network in
MODELPULSE_WEBHOOK_ALLOWED_NETWORKS. Services call it when an address is saved.

`post(url, body=..., headers=...)` checks again when sending, on the addresses the name
resolves to at that moment, and connects to the address it checked (DNS may answer
differently between the check and the connection): the TCP connection goes to the
pinned IP while the Host header and TLS server name stay the URL's host, so
certificates are verified against the name. Redirects are not followed, environment
proxies are not used, and only a bounded prefix of the answer is read.
"""
import ipaddress
import socket
from dataclasses import dataclass
from functools import lru_cache

import urllib3
from django.conf import settings
from urllib3.util import parse_url

USER_AGENT = "ModelPulse/1.0"
MAX_RESPONSE_BYTES = 64 * 1024
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# IETF protocol assignments: Python's table marks only parts of it as not global.
_PROTOCOL_ASSIGNMENTS = ipaddress.ip_network("192.0.0.0/24")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_COMPAT = ipaddress.ip_network("::/96")
# Names that always mean this machine or its link, whatever a resolver says (RFC 6761, 6762).
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")


class Refused(Exception):
    """The target is not allowed; `reason` says why in words a user can act on."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SendFailed(Exception):
    """The request could not be made (DNS, connection, timeout, TLS)."""


@dataclass
class Response:
    status: int
    body: bytes  # at most MAX_RESPONSE_BYTES; callers decide whether to keep any of it

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@lru_cache(maxsize=8)
def _parse_networks(value: tuple) -> tuple:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in value if v.strip())


def allowed_networks() -> tuple:
    value = getattr(settings, "MODELPULSE_WEBHOOK_ALLOWED_NETWORKS", ()) or ()
    if isinstance(value, str):
        value = value.split(",")
    return _parse_networks(tuple(value))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, compatible, 6to4, NAT64, Teredo client)."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in _NAT64 or (ip in _V4_COMPAT and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _kind(ip) -> str | None:
    """Why this address is not on the public internet, or None when it is."""
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.version == 4 and ip in _CGNAT:
        return "a shared (CGNAT) address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved or (ip.version == 4 and ip in _PROTOCOL_ASSIGNMENTS):
        return "a reserved address"
    if ip.version == 6 and ip.is_site_local:
        return "a site-local address"
    if not ip.is_global:
        return "not a public address"
    return None


def address_refusal(address: str) -> str | None:
    """None if the product may connect to this IP address, else the reason it may not."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates = [ip]
    if ip.version == 6:
        inner = _embedded_ipv4(ip)
        if inner is not None:
            candidates.insert(0, inner)
    networks = allowed_networks()
    if any(c in net for c in candidates for net in networks if c.version == net.version):
        return None
    # An IPv6 form of an IPv4 address reaches that IPv4 address: judged by it alone.
    kind = _kind(candidates[0])
    return f"{address} is {kind}" if kind else None


def _target(url: str):
    try:
        parsed = parse_url(url)
    except Exception:
        raise Refused("not a valid URL") from None
    scheme = (parsed.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise Refused("must start with http:// or https://")
    host = (parsed.host or "").strip("[]").rstrip(".").lower()
    if not host:
        raise Refused("the URL has no host")
    port = parsed.port or (443 if scheme == "https" else 80)
    return scheme, host, port, parsed


def _literal(host: str):
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _name_refusal(host: str) -> str | None:
    if host == "localhost" or host.endswith(_LOCAL_SUFFIXES):
        if address_refusal("127.0.0.1") and address_refusal("::1"):
            return f"{host} is a local name"
    return None


def checked_addresses(url: str) -> list[str]:
    """Resolve the URL's host now and check every address; all must pass. Raises Refused."""
    _scheme, host, port, _ = _target(url)
    reason = _name_refusal(host)
    if reason:
        raise Refused(reason)
    if _literal(host) is not None:
        addresses = [host]
    else:
        try:
            addresses = _resolve(host, port)
        except (socket.gaierror, UnicodeError, OSError) as exc:
            raise SendFailed(f"could not resolve {host}: {exc}") from None
    for address in addresses:
        reason = address_refusal(address)
        if reason:
            raise Refused(reason)
    return addresses


def check_url(url: str) -> None:
    """When an address is saved: refuse what is refused now. A name that does not resolve
    yet is accepted (it is checked again, resolved, at every send)."""
    try:
        checked_addresses(url)
    except SendFailed:
        return


def post(url: str, body: bytes, headers: dict | None = None, timeout: float | None = None) -> Response:
    """POST `body` to `url` through the guard. Raises Refused or SendFailed; any HTTP answer is returned."""
    scheme, host, port, parsed = _target(url)
    addresses = checked_addresses(url)
    timeout = settings.ALERT_HTTP_TIMEOUT_SECONDS if timeout is None else timeout
    netloc = f"[{host}]" if ":" in host else host
    default_port = 443 if scheme == "https" else 80
    request_headers = {"User-Agent": USER_AGENT, **(headers or {}),
                       "Host": netloc if port == default_port else f"{netloc}:{port}"}
    path = parsed.request_uri or "/"
    last_error = None
    for address in addresses:
        pool_kwargs = {"timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False, "maxsize": 1}
        if scheme == "https":
            pool = urllib3.HTTPSConnectionPool(address, port, server_hostname=host, assert_hostname=host,
                                               cert_reqs="CERT_REQUIRED", **pool_kwargs)
        else:
            pool = urllib3.HTTPConnectionPool(address, port, **pool_kwargs)
        try:
            answer = pool.urlopen("POST", path, body=body, headers=request_headers, redirect=False,
                                  retries=False, preload_content=False, assert_same_host=False)
            try:
                data = answer.read(MAX_RESPONSE_BYTES)
            finally:
                answer.release_conn()
            return Response(answer.status, data)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            last_error = exc
        finally:
            pool.close()
    raise SendFailed(f"{type(last_error).__name__}: {str(last_error)[:200]}")
