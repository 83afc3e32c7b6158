"""Calls the platform makes to funders' systems (events, decisions) cannot be turned
against the inside: https only, to public addresses only, connecting to the very
address that was checked, never following a redirect.

A funder chooses the URL, so the URL is not trusted: its host is resolved here, every
address it resolves to must be a public unicast one (not loopback, private,
link-local, shared 100.64/10, multicast, reserved or unspecified; IPv4 inside IPv6
too), and the connection goes to that address while TLS still checks the name. Plain
http, and loopback, are for development only (``YIRONG_ALLOW_LOOPBACK_ENDPOINTS``):
then loopback is the one place allowed besides public https."""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from urllib.parse import urlsplit

import httpx

from yirong.config import settings

# host, port -> the addresses it resolves to (tests give their own).
Resolver = Callable[[str, int], Sequence[str]]
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Numeric hosts a C resolver would read (2130706433, 0x7f.1, 0177.0.0.1, 127.1) but
# that are not a plain dotted quad: refused outright, whatever they point at.
_ODD_NUMERIC = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.I)
_SHARED = ipaddress.ip_network("100.64.0.0/10")


class EndpointRefused(httpx.TransportError):
    """The URL may not be called: what the funder is told is only that."""


LOOKUP_SECONDS = 5.0  # a name that takes longer to resolve is not called
# getaddrinfo has no timeout of its own: lookups run here, and a slow one is given up
# on (its thread finishes in its own time), so one funder's broken DNS never holds up
# the deliverer's other funders.
_lookups = ThreadPoolExecutor(max_workers=4, thread_name_prefix="yirong-dns")


def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_within(
    lookup: Resolver, host: str, port: int, seconds: float = LOOKUP_SECONDS
) -> Sequence[str]:
    """``lookup(host, port)``, or OSError once ``seconds`` have passed."""
    try:
        return _lookups.submit(lookup, host, port).result(timeout=seconds)
    except FuturesTimeout as exc:
        raise OSError(f"no answer for the name in {seconds:g} s") from exc


def system_resolver(host: str, port: int) -> Sequence[str]:
    return resolve_within(_getaddrinfo, host, port)


def loopback_allowed() -> bool:
    return settings().allow_loopback_endpoints


def address_problem(address: IpAddress, *, loopback_ok: bool) -> str | None:
    """Why the platform may not connect to ``address`` (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if inner is not None:
            return address_problem(inner, loopback_ok=loopback_ok)
    if address.is_loopback:
        return None if loopback_ok else "loopback"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "shared"
    for problem, flag in (
        ("unspecified", address.is_unspecified),
        ("multicast", address.is_multicast),
        ("link-local", address.is_link_local),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    ):
        if flag:
            return problem
    return None if address.is_global else "not global"


def url_problem(url: str, *, loopback_ok: bool) -> str | None:
    """What is wrong with the URL as written (no lookup): the scheme, an odd numeric
    host, an address literal that may not be called."""
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname or "", parts.port
    except ValueError:
        return "unparsable"
    if parts.scheme not in ("https", "http") or not host:
        return "scheme"
    literal = _literal(host)
    if literal is None and _ODD_NUMERIC.match(host):
        return "numeric host"
    if literal is not None:
        problem = address_problem(literal, loopback_ok=loopback_ok)
        if problem is not None:
            return problem
    # Plain http only under the development setting, and then (a name's addresses
    # are checked when called) only to loopback.
    if parts.scheme == "http" and not (loopback_ok and (literal is None or _loop(literal))):
        return "plain http"
    return None


def _loop(address: IpAddress) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class GuardedTransport(httpx.BaseTransport):
    """Checks each request's destination, then connects to the checked address
    (the name kept for the Host header and for TLS), so a second lookup cannot
    answer differently.

    Each name has its own connection pool. The pinned URL carries the address, and
    httpx pools connections by URL: with one pool, a connection whose certificate was
    checked for one name would carry a request for another name that resolves to the
    same address, its certificate never checked for that name."""

    def __init__(
        self,
        resolver: Resolver | None = None,
        verify: ssl.SSLContext | bool = True,
    ):
        self.resolver = resolver or system_resolver
        self.verify = verify
        self.pools: dict[tuple[str, str, int], httpx.HTTPTransport] = {}

    def _pool(self, scheme: str, host: str, port: int) -> httpx.HTTPTransport:
        key = (scheme, host.lower(), port)
        if key not in self.pools:
            self.pools[key] = httpx.HTTPTransport(verify=self.verify)
        return self.pools[key]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        loopback_ok = loopback_allowed()
        url = request.url
        problem = url_problem(str(url), loopback_ok=loopback_ok)
        host = url.host
        port = url.port or (443 if url.scheme == "https" else 80)
        if problem is None:
            try:
                found = [ipaddress.ip_address(a) for a in self.resolver(host, port)]
            except (OSError, ValueError):
                found = []
            problems = [address_problem(a, loopback_ok=loopback_ok) for a in found]
            problem = "unresolved" if not found else next((p for p in problems if p), None)
            if problem is None and url.scheme == "http" and not all(map(_loop, found)):
                problem = "plain http"
        if problem is not None:
            raise EndpointRefused(f"endpoint not allowed: {problem}", request=request)
        pinned = request.url.copy_with(host=str(found[0]))
        extensions = dict(request.extensions)
        if url.scheme == "https":
            extensions["sni_hostname"] = host
        headers = httpx.Headers(request.headers)
        headers["Host"] = request.headers.get("Host", host)
        checked = httpx.Request(
            request.method, pinned, headers=headers, stream=request.stream, extensions=extensions
        )
        return self._pool(url.scheme, host, port).handle_request(checked)

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()


def guarded_client(
    timeout: httpx.Timeout | float,
    resolver: Resolver | None = None,
    *,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    """The client for funders' systems: guarded, and never following a redirect.
    ``verify`` is for tests that trust their own certificate authority."""
    return httpx.Client(
        transport=GuardedTransport(resolver, verify), timeout=timeout, follow_redirects=False
    )
