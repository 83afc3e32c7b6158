"""Events pushed to funders' systems: a real HTTP receiver on 127.0.0.1 that fails,
times out, refuses, loses its answers and succeeds as each test scripts it; it checks
every signature and de-duplicates by event id, as a funder's system must.

What must hold: every event arrives, is applied once (a repeat is recognised by its
id), in the funder's order, signed; attempts and errors are recorded; nothing stays
undelivered; and two deliverers never send the same event at once."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from tests.conftest import FIRST_DAY
from tests.credit.market import lender
from yirong.events.delivery import Backoff, DeliveryPolicy, claim, deliver_due, event_id
from yirong.events.service import list_events, outbox_id_of
from yirong.funders.public import set_events_endpoint
from yirong.funders.service import register_funder
from yirong.infra import signing
from yirong.infra.db import Database, Tx
from yirong.infra.outbox import OutboxMessage, tell

READ_TIMEOUT = 0.25
SLOW = 0.5  # longer than the deliverer waits for an answer
FAST = DeliveryPolicy(
    connect_timeout=0.5,
    read_timeout=READ_TIMEOUT,
    write_timeout=0.5,
    backoff=Backoff(first=timedelta(milliseconds=4), cap=timedelta(milliseconds=40)),
)
# What the receiver does with an event's 1st, 2nd... request (then "ok").
OK, FAIL, SLOW_ANSWER, REFUSE, LOST = "ok", "fail", "slow", "refuse", "lost"


@dataclass
class Receiver:
    """A funder's events endpoint. Every request's signature is checked with the
    funder's secret (401 if wrong); a verified request then meets its script:
    ``fail`` 500, ``refuse`` 503, ``slow`` answers after the deliverer gave up (not
    applied), ``lost`` applies the event and answers too late (the answer is lost),
    ``ok`` applies it and answers 200. Applying de-duplicates by event id."""

    secrets: dict[str, str] = field(default_factory=dict)  # funder -> events secret
    scripts: dict[str, list[str]] = field(default_factory=dict)  # event id -> behaviours
    lock: threading.Lock = field(default_factory=threading.Lock)
    received: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    applied: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)  # event id -> requests
    duplicates: Counter[str] = field(default_factory=Counter)  # recognised repeats
    verified: int = 0
    rejected: int = 0  # bad signatures
    server: ThreadingHTTPServer | None = None

    def url(self, funder: str) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/{funder}/events"

    def handle(self, path: str, headers: Any, body: bytes) -> tuple[int, float]:
        """(status, seconds to wait before answering)."""
        funder = path.strip("/").split("/")[0]
        secret = self.secrets.get(funder, "")
        good = signing.verify(
            secret, headers.get("X-Yirong-Timestamp"), body, headers.get("X-Yirong-Signature")
        )
        with self.lock:
            if not good:
                self.rejected += 1
                return 401, 0.0
            self.verified += 1
            event = json.loads(body)
            assert headers.get("X-Yirong-Event-Id") == event["id"]
            assert headers.get("Content-Type") == "application/json"
            nth = self.requests[event["id"]]
            self.requests[event["id"]] += 1
            self.received[funder].append(event["id"])
            script = self.scripts.get(event["id"], [])
            behaviour = script[nth] if nth < len(script) else OK
            if behaviour in (OK, LOST):
                if event["id"] in self.bodies:
                    self.duplicates[event["id"]] += 1  # seen: acknowledged, not re-applied
                else:
                    self.bodies[event["id"]] = event
                    self.applied[funder].append(event["id"])
        return {
            OK: (200, 0.0),
            LOST: (200, SLOW),
            FAIL: (500, 0.0),
            REFUSE: (503, 0.0),
            SLOW_ANSWER: (200, SLOW),
        }[behaviour]


def handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, wait = receiver.handle(self.path, self.headers, body)
            if wait:
                time.sleep(wait)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the deliverer stopped waiting

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(r))
    server.daemon_threads = True
    r.server = server
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield r
    server.shutdown()
    server.server_close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


def funders(db: Database, receiver: Receiver, *codes: str, endpoint: bool = True) -> None:
    for code in codes:
        register_funder(db, lender(code, "0.12", "2")[0])
        if endpoint:
            receiver.secrets[code] = set_events_endpoint(db, code, receiver.url(code)).events_secret


def events(db: Database, recipients: list[str]) -> list[str]:
    """One event per recipient listed (in that order); their ids."""

    def work(tx: Tx) -> list[int]:
        for n, recipient in enumerate(recipients):
            tell(tx, recipient, "drawdown.ordered", 1000 + n, FIRST_DAY, n=n, amount=500_00 + n)
        tx.session.flush()
        return list(tx.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))

    return [event_id(i) for i in db.run(work)[-len(recipients) :]]


def outbox(db: Database) -> dict[str, OutboxMessage]:
    def read(tx: Tx) -> dict[str, OutboxMessage]:
        return {event_id(m.id): m for m in tx.session.scalars(select(OutboxMessage))}

    return db.run(read, readonly=True)


def undelivered(db: Database, recipients: tuple[str, ...]) -> int:
    return sum(
        1 for m in outbox(db).values() if m.delivered_at is None and m.recipient in recipients
    )


def deliver_all(
    db: Database, client: httpx.Client, recipients: tuple[str, ...], *, seconds: float = 10
) -> int:
    """Rounds of deliver_due until the recipients' events are all delivered."""
    deadline = time.monotonic() + seconds
    rounds = 0
    while undelivered(db, recipients) and time.monotonic() < deadline:
        deliver_due(db, client=client, now=datetime.now(UTC), batch=8, policy=FAST)
        rounds += 1
        time.sleep(0.003)
    return rounds


def order_of(ids: list[str]) -> list[int]:
    return [outbox_id_of(i) for i in ids]


def test_every_event_arrives_once_in_order_through_failures(
    db: Database, receiver: Receiver, client: httpx.Client
) -> None:
    funders(db, receiver, "F1", "F2")
    funders(db, receiver, "F3", endpoint=False)  # reads its events through the API
    recipients = [f"funder:F{1 + n % 2}" for n in range(20)] + ["funder:F3"] * 2
    ids = events(db, recipients)
    scripts = [[FAIL], [SLOW_ANSWER], [REFUSE, FAIL], [], [LOST], [FAIL, REFUSE]]
    for n, eid in enumerate(ids[:20]):
        receiver.scripts[eid] = scripts[n % len(scripts)]
    started = time.monotonic()

    rounds = deliver_all(db, client, ("funder:F1", "funder:F2"))

    assert time.monotonic() - started < 8
    assert rounds > 1  # failures were retried in later rounds
    rows = outbox(db)
    pushed = ids[:20]
    # Every event arrived, was applied once, and repeats were recognised by their id.
    assert sorted(receiver.bodies) == sorted(pushed)
    for funder in ("F1", "F2"):
        own = [eid for eid, r in zip(ids, recipients, strict=True) if r == f"funder:{funder}"]
        assert receiver.applied[funder] == own  # applied in the funder's order
        # No request for a later event came before an earlier one was through.
        assert order_of(receiver.received[funder]) == sorted(order_of(receiver.received[funder]))
    lost = {eid for eid in pushed if LOST in receiver.scripts[eid]}
    assert lost and set(receiver.duplicates) == lost
    assert all(count == 1 for count in receiver.duplicates.values())
    # Every request was signed right; every attempt reached the receiver and was counted.
    assert receiver.rejected == 0 and receiver.verified == sum(receiver.requests.values())
    for eid in pushed:
        expected = len(receiver.scripts[eid]) + 1
        assert receiver.requests[eid] == expected, eid
        row = rows[eid]
        assert row.attempts == expected and row.delivered_at is not None, eid
        assert row.claimed_until is None and row.next_attempt_at is None
        assert row.last_error is None
    # The body is the event: id, type, business date, subject and data.
    first = receiver.bodies[ids[0]]
    assert first == {
        "id": ids[0],
        "type": "drawdown.ordered",
        "business_date": "2026-01-05",
        "subject_id": 1000,
        "data": {"n": 0, "amount": 50000},
    }
    # The funder without an endpoint was never pushed to.
    assert "F3" not in receiver.received
    assert all(rows[eid].attempts == 0 and rows[eid].delivered_at is None for eid in ids[20:])


def test_a_lost_answer_is_retried_and_recognised_by_id(
    db: Database, receiver: Receiver, client: httpx.Client
) -> None:
    """Never lost, never applied twice: the receiver applies the event, its answer
    never arrives, so the event goes again and the receiver sees the id it has."""
    funders(db, receiver, "F1")
    first, second = events(db, ["funder:F1", "funder:F1"])
    receiver.scripts[first] = [LOST, LOST]
    now = datetime.now(UTC)

    report = deliver_due(db, client=client, now=now, policy=FAST)

    assert (report.claimed, report.delivered, report.failed) == (2, 0, 1)
    assert receiver.applied["F1"] == [first]  # applied, though the platform cannot know
    row = outbox(db)[first]
    assert row.delivered_at is None and row.attempts == 1
    assert row.last_error == "unreachable"
    assert row.next_attempt_at is not None and row.claimed_until is None
    assert outbox(db)[second].claimed_until is None  # released, waiting behind the first
    assert receiver.requests[second] == 0

    deliver_all(db, client, ("funder:F1",))

    assert receiver.requests[first] == 3 and receiver.duplicates[first] == 2
    assert receiver.applied["F1"] == [first, second]
    assert all(m.delivered_at is not None for m in outbox(db).values())


def test_backoff_waits_and_later_events_wait_behind_a_failure(
    db: Database, receiver: Receiver, client: httpx.Client
) -> None:
    funders(db, receiver, "F1", "F2")
    a1, b1, a2 = events(db, ["funder:F1", "funder:F2", "funder:F1"])
    receiver.scripts[a1] = [FAIL, FAIL]
    policy = DeliveryPolicy(read_timeout=1.0, backoff=Backoff(first=timedelta(seconds=10)))
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # the scheduling clock, as a test sets it

    report = deliver_due(db, client=client, now=now, policy=policy)

    assert [(o.event_id, o.delivered, o.error) for o in report.outcomes] == [
        (a1, False, "HTTP 500"),
        (b1, True, None),  # another funder is not held up
    ]
    row = outbox(db)[a1]
    assert row.attempts == 1 and row.last_error == "HTTP 500"
    wait = row.next_attempt_at.replace(tzinfo=UTC) - now  # type: ignore[union-attr]
    assert timedelta(seconds=5) <= wait <= timedelta(seconds=11)  # 10 s, half of it jitter
    # Not due yet: nothing goes, and F1's later event does not overtake the first.
    assert (
        deliver_due(db, client=client, now=now + timedelta(seconds=4), policy=policy).claimed == 0
    )
    assert receiver.requests[a2] == 0
    # Due: it fails again, and the next wait doubles.
    later = now + timedelta(seconds=11)
    assert deliver_due(db, client=client, now=later, policy=policy).failed == 1
    row = outbox(db)[a1]
    wait = row.next_attempt_at.replace(tzinfo=UTC) - later  # type: ignore[union-attr]
    assert row.attempts == 2 and timedelta(seconds=10) <= wait <= timedelta(seconds=21)
    # Then both go, in order.
    report = deliver_due(db, client=client, now=later + timedelta(seconds=21), policy=policy)
    assert [o.event_id for o in report.outcomes if o.delivered] == [a1, a2]
    assert receiver.applied["F1"] == [a1, a2]


def test_a_refused_connection_is_recorded_and_retried(
    db: Database, receiver: Receiver, client: httpx.Client
) -> None:
    funders(db, receiver, "F1")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    receiver.secrets["F1"] = set_events_endpoint(
        db, "F1", f"http://127.0.0.1:{closed}/F1/x"
    ).events_secret
    (eid,) = events(db, ["funder:F1"])

    report = deliver_due(db, client=client, now=datetime.now(UTC), policy=FAST)

    assert report.failed == 1
    row = outbox(db)[eid]
    assert row.attempts == 1 and row.last_error == "unreachable"
    assert str(closed) not in (row.last_error or "")  # no address (nor secret) in the error
    receiver.secrets["F1"] = set_events_endpoint(db, "F1", receiver.url("F1")).events_secret
    deliver_all(db, client, ("funder:F1",))
    assert receiver.applied["F1"] == [eid] and outbox(db)[eid].attempts == 2


def test_a_forged_or_tampered_event_fails_verification(
    db: Database, receiver: Receiver, client: httpx.Client
) -> None:
    funders(db, receiver, "F1")
    body = json.dumps({"id": "evt_1", "type": "drawdown.ordered", "data": {"amount": 1}}).encode()
    timestamp, signature = signing.sign(receiver.secrets["F1"], body)
    headers = {
        "Content-Type": "application/json",
        "X-Yirong-Event-Id": "evt_1",
        "X-Yirong-Timestamp": timestamp,
        "X-Yirong-Signature": signature,
    }
    url = receiver.url("F1")
    tampered = body.replace(b'"amount": 1', b'"amount": 100')
    assert tampered != body
    assert client.post(url, content=tampered, headers=headers).status_code == 401
    forged_ts, forged = signing.sign("not-the-secret", body)
    forged_headers = {**headers, "X-Yirong-Timestamp": forged_ts, "X-Yirong-Signature": forged}
    assert client.post(url, content=body, headers=forged_headers).status_code == 401
    old_ts, old = signing.sign(receiver.secrets["F1"], body, now=time.time() - 3600)
    replayed = {**headers, "X-Yirong-Timestamp": old_ts, "X-Yirong-Signature": old}
    assert client.post(url, content=body, headers=replayed).status_code == 401
    assert receiver.rejected == 3 and not receiver.bodies
    # The genuine one passes.
    assert client.post(url, content=body, headers=headers).status_code == 200
    assert receiver.applied["F1"] == ["evt_1"]


def test_a_claim_keeps_other_deliverers_off_until_its_lease_ends(
    db: Database, receiver: Receiver
) -> None:
    funders(db, receiver, "F1", "F2")
    ids = events(db, ["funder:F1", "funder:F2", "funder:F1"])
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    first = claim(db, now=now, policy=FAST)

    assert sorted(event_id(c.outbox_id) for c in first) == sorted(ids)
    assert claim(db, now=now + timedelta(seconds=1), policy=FAST) == []
    # A deliverer that died leaves its claims to expire; then another takes them.
    after_lease = first[0].claimed_until + timedelta(seconds=1)
    assert len(claim(db, now=after_lease, policy=FAST)) == 3
    # The batch bounds a claim, oldest first per funder.
    later = after_lease + FAST.lease(3) + timedelta(seconds=1)
    assert [event_id(c.outbox_id) for c in claim(db, now=later, batch=1, policy=FAST)] == [ids[0]]


def test_two_deliverers_at_once_send_each_event_once_in_order(
    db: Database, receiver: Receiver
) -> None:
    funders(db, receiver, "F1", "F2")
    recipients = [f"funder:F{1 + n % 2}" for n in range(16)]
    ids = events(db, recipients)
    errors: list[BaseException] = []

    def deliverer() -> None:
        try:
            with httpx.Client() as client:
                deliver_all(db, client, ("funder:F1", "funder:F2"), seconds=8)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliverer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    assert sorted(receiver.bodies) == sorted(ids)
    assert all(receiver.requests[eid] == 1 for eid in ids)  # nobody sent one twice
    for funder in ("F1", "F2"):
        own = [eid for eid, r in zip(ids, recipients, strict=True) if r == f"funder:{funder}"]
        assert receiver.received[funder] == own
    assert all(m.attempts == 1 and m.delivered_at is not None for m in outbox(db).values())


def test_an_unreadable_secret_holds_up_its_own_funder_only(
    db: Database, receiver: Receiver, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """F1's secret sealed under another secret key: F2's events still go; F1's wait,
    and the log says whose endpoint to set again (never the secret)."""
    funders(db, receiver, "F1", "F2")
    foreign = "fernet:" + "gAAAAAB" + "x" * 93  # not sealed under this key
    db.run(
        lambda tx: tx.conn.execute(
            text("UPDATE funders SET events_secret = :s WHERE code = 'F1'"), {"s": foreign}
        )
    )
    f1, f2 = events(db, ["funder:F1", "funder:F2"])

    with caplog.at_level(logging.WARNING, logger="yirong.events"):
        deliver_all(db, client, ("funder:F2",))

    assert f2 in receiver.bodies and f1 not in receiver.bodies
    assert outbox(db)[f1].delivered_at is None and outbox(db)[f1].attempts == 0
    warned = [r for r in caplog.records if "secret unreadable" in r.getMessage()]
    assert warned and {getattr(r, "funder", None) for r in warned} == {"F1"}
    assert all(foreign not in r.getMessage() for r in caplog.records)


def test_the_command_line_delivers_and_lists(db: Database, receiver: Receiver) -> None:
    from yirong.cli import app

    funders(db, receiver, "F1")
    ids = events(db, ["funder:F1", "funder:F1"])
    receiver.scripts[ids[1]] = [FAIL]
    url = db.url.render_as_string(hide_password=False)
    runner = CliRunner()

    result = runner.invoke(app, ["--database", url, "events", "deliver", "--once"])

    assert result.exit_code == 0, result.output
    assert f"{ids[0]} to funder:F1: delivered" in result.output
    assert f"{ids[1]} to funder:F1: failed: HTTP 500" in result.output
    result = runner.invoke(app, ["--database", url, "events", "list", "F1", "--undelivered"])
    assert result.exit_code == 0, result.output
    assert ids[1] in result.output and ids[0] not in result.output
    result = runner.invoke(app, ["--database", url, "events", "list", "F404"])
    assert result.exit_code == 2 and "funder_not_found" in result.output


def test_the_command_line_is_guarded_like_the_server(
    db: Database, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`yirong events deliver --once` calls funders' URLs too: without the development
    setting, a loopback endpoint is refused there as in `yirong serve`, nothing sent."""
    from yirong.cli import app

    funders(db, receiver, "F1")
    [event] = events(db, ["funder:F1"])
    monkeypatch.setenv("YIRONG_ALLOW_LOOPBACK_ENDPOINTS", "false")
    url = db.url.render_as_string(hide_password=False)

    result = CliRunner().invoke(app, ["--database", url, "events", "deliver", "--once"])

    assert result.exit_code == 0, result.output
    assert f"{event} to funder:F1: failed: endpoint not allowed" in result.output
    assert receiver.bodies == {}


def test_on_postgresql_a_claim_skips_what_another_deliverer_holds(
    pg: Database, receiver: Receiver
) -> None:
    """Another deliverer in the middle of claiming F1's oldest event holds its row:
    a claim now neither waits for it nor sends F1's later event ahead of it."""
    funders(pg, receiver, "F1", "F2")
    a1, b1, a2 = events(pg, ["funder:F1", "funder:F2", "funder:F1"])
    found: list[list[str]] = []
    with pg.engine.connect() as other:
        other.exec_driver_sql("BEGIN")
        other.exec_driver_sql(f"SELECT id FROM outbox WHERE id = {outbox_id_of(a1)} FOR UPDATE")
        thread = threading.Thread(
            target=lambda: found.append(
                [event_id(c.outbox_id) for c in claim(pg, now=datetime.now(UTC), policy=FAST)]
            )
        )
        thread.start()
        thread.join(5)
        other.exec_driver_sql("ROLLBACK")
    thread.join()
    assert found == [[b1]]
    assert [event_id(c.outbox_id) for c in claim(pg, now=datetime.now(UTC), policy=FAST)] == [
        a1,
        a2,
    ]


def test_on_postgresql_an_event_committed_late_is_not_passed_by(
    pg: Database, receiver: Receiver, client: httpx.Client
) -> None:
    """Event 2's transaction draws its id before event 3's but commits after it. A
    poller whose cursor went past 3, or a deliverer that sent 3, would never see 2 in
    its place: reads stop below what is still being written."""
    funders(pg, receiver, "F1")
    (first,) = events(pg, ["funder:F1"])
    assert [e.id for e in list_events(pg, recipient="funder:F1")] == [first]
    with pg.engine.connect() as slow:
        slow.exec_driver_sql("BEGIN")
        late = slow.exec_driver_sql(
            "INSERT INTO outbox (recipient, topic, subject_id, payload, business_date, attempts)"
            " VALUES ('funder:F1', 'drawdown.ordered', 7, '{}', '2026-01-05', 0) RETURNING id"
        ).scalar_one()
        (third,) = events(pg, ["funder:F1"])
        assert third == event_id(late + 1)

        assert list_events(pg, recipient="funder:F1", after=1, settle_wait=0.05) == []
        assert deliver_due(pg, client=client, now=datetime.now(UTC), policy=FAST).claimed == 1
        assert receiver.applied["F1"] == [first]  # not the third ahead of the second
        slow.exec_driver_sql("COMMIT")

    polled = [e.id for e in list_events(pg, recipient="funder:F1", after=1)]
    assert polled == [event_id(late), third]
    deliver_all(pg, client, ("funder:F1",))
    assert receiver.applied["F1"] == [first, event_id(late), third]
