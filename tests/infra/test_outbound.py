"""Calls to funders' systems cannot reach inside: https to public addresses only (plain
http to loopback under the development setting), every resolved address checked, the
connection made to the checked one, no redirect followed, a coarse error told.

Only loopback is ever connected to: other addresses appear as ``ipaddress`` values in
the pure checks, or as a resolver's answer that is refused before any connection."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from tests.infra.serving import serving
from yirong.infra.outbound import (
    EndpointRefused,
    address_problem,
    guarded_client,
    resolve_within,
    url_problem,
)

# Written by hand: address -> why it is refused (None: public, allowed).
ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("127.9.9.9", "loopback"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("::ffff:10.0.0.1", "private"),
    ("fc00::1", "private"),
    ("169.254.169.254", "link-local"),  # the cloud metadata service
    ("fe80::1", "link-local"),
    ("100.64.0.1", "shared"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("192.0.2.1", "private"),  # TEST-NET-1, documentation only
    ("8.8.8.8", None),
    ("2606:4700:4700::1111", None),
]


@pytest.mark.parametrize(("address", "problem"), ADDRESSES)
def test_each_range_is_refused_or_allowed(address: str, problem: str | None) -> None:
    assert address_problem(ipaddress.ip_address(address), loopback_ok=False) == problem


def test_loopback_only_is_what_the_development_setting_adds() -> None:
    for address, problem in ADDRESSES:
        allowed = address_problem(ipaddress.ip_address(address), loopback_ok=True)
        assert allowed == (None if problem == "loopback" else problem), address


# URL -> (problem without the development setting, problem with it)
URLS = [
    ("https://funder.test/events", (None, None)),
    ("http://funder.test/events", ("plain http", None)),  # then only if it is loopback
    ("http://127.0.0.1:9/events", ("loopback", None)),
    ("http://localhost:9/events", ("plain http", None)),
    ("https://[::1]/events", ("loopback", None)),
    ("https://0x7f000001/", ("numeric host", "numeric host")),
    ("https://2130706433/", ("numeric host", "numeric host")),
    ("https://0177.0.0.1/", ("numeric host", "numeric host")),
    ("https://127.1/", ("numeric host", "numeric host")),
    ("ftp://funder.test/", ("scheme", "scheme")),
    ("https://:443/", ("scheme", "scheme")),
]


@pytest.mark.parametrize(("url", "problems"), URLS)
def test_urls_as_written(url: str, problems: tuple[str | None, str | None]) -> None:
    assert (url_problem(url, loopback_ok=False), url_problem(url, loopback_ok=True)) == problems


class Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_POST(self) -> None:
        Recorder.seen.append((self.path, self.headers.get("Host")))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    Recorder.seen = []
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Recorder)) as port:
        yield port


class Resolver:
    """The names a test knows, counted."""

    def __init__(self, answers: dict[str, Sequence[str]]) -> None:
        self.answers, self.calls = answers, 0

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls += 1
        return self.answers.get(host, [])


def test_without_the_setting_loopback_is_never_connected_to(
    server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YIRONG_ALLOW_LOOPBACK_ENDPOINTS", "false")
    resolver = Resolver({"funder.test": ["127.0.0.1"]})
    with guarded_client(2, resolver) as client:
        for url in (f"https://funder.test:{server}/e", f"http://127.0.0.1:{server}/e"):
            with pytest.raises(EndpointRefused, match="endpoint not allowed"):
                client.post(url, content=b"{}")
    assert Recorder.seen == []


def test_it_connects_to_the_address_it_checked_with_the_name_kept(
    server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YIRONG_ALLOW_LOOPBACK_ENDPOINTS", "true")
    resolver = Resolver({"funder.test": ["127.0.0.1"]})
    with guarded_client(2, resolver) as client:
        answer = client.post(f"http://funder.test:{server}/events", content=b"{}")
    assert answer.status_code == 200
    assert Recorder.seen == [("/events", f"funder.test:{server}")]
    assert resolver.calls == 1  # one lookup, the one checked: no second answer is asked


def test_one_refused_answer_refuses_the_name(server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIRONG_ALLOW_LOOPBACK_ENDPOINTS", "true")
    # A name answering loopback and an inside address: refused whole, nothing sent.
    resolver = Resolver({"funder.test": ["127.0.0.1", "192.0.2.1"], "nowhere.test": []})
    with guarded_client(2, resolver) as client:
        for url in (f"http://funder.test:{server}/e", f"https://nowhere.test:{server}/e"):
            with pytest.raises(EndpointRefused):
                client.post(url, content=b"{}")
    assert Recorder.seen == []


def test_a_redirect_is_not_followed(server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIRONG_ALLOW_LOOPBACK_ENDPOINTS", "true")
    with guarded_client(2, Resolver({"funder.test": ["127.0.0.1"]})) as client:
        answer = client.post(f"http://funder.test:{server}/moved", content=b"{}")
    assert answer.status_code == 302
    assert [path for path, _ in Recorder.seen] == ["/moved"]


def test_refusals_are_transport_errors_callers_already_handle() -> None:
    assert issubclass(EndpointRefused, httpx.TransportError)


def test_the_funder_reads_one_coarse_reason(server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused, a closed port, no answer in time: what the funder reads never maps
    what answers where."""
    from datetime import UTC, datetime

    from yirong.events.delivery import Claimed, DeliveryPolicy, post

    def claimed(url: str) -> Claimed:
        return Claimed(1, "funder:F1", url, "s" * 32, b"{}", datetime.now(UTC))

    policy = DeliveryPolicy(connect_timeout=1, read_timeout=1, write_timeout=1)
    resolver = Resolver({"funder.test": ["127.0.0.1"], "public.test": ["8.8.8.8"]})
    monkeypatch.setenv("YIRONG_ALLOW_LOOPBACK_ENDPOINTS", "false")
    with guarded_client(policy.timeout, resolver) as client:
        refused = post(client, claimed(f"https://funder.test:{server}/e"), policy)
        assert refused == "endpoint not allowed (https to a public address only)"
        monkeypatch.setenv("YIRONG_ALLOW_LOOPBACK_ENDPOINTS", "true")
        # Plain http to a public address stays refused, development setting or not.
        assert post(client, claimed("http://public.test/e"), policy) == refused
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            closed = probe.getsockname()[1]
        assert post(client, claimed(f"http://funder.test:{closed}/e"), policy) == "unreachable"
        assert post(client, claimed(f"http://funder.test:{server}/e"), policy) is None
    assert [path for path, _ in Recorder.seen] == ["/e"]


def test_a_name_that_does_not_answer_in_time_is_not_called() -> None:
    """getaddrinfo has no timeout of its own; a lookup that hangs is given up on."""
    release = threading.Event()

    def hanging(host: str, port: int) -> Sequence[str]:
        release.wait(10)
        return ["127.0.0.1"]

    started = time.monotonic()
    with pytest.raises(OSError, match="no answer"):
        resolve_within(hanging, "slow.test", 443, seconds=0.2)
    assert time.monotonic() - started < 2
    release.set()
    assert resolve_within(lambda h, p: ["192.0.2.7"], "quick.test", 443) == ["192.0.2.7"]
