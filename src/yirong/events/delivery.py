"""Pushing the outbox to funders: each funder's events, oldest first, POSTed to its
``events_url`` and signed with its ``events_secret``; retried with backoff until the
funder's system answers 2xx.

Delivery is at least once: a response lost on the way back (the funder applied the
event, then the connection dropped) looks like a failure here, so the event is sent
again, and the receiver de-duplicates by the event id (``X-Yirong-Event-Id``, also the
body's ``id``). Nothing is lost (the message stays until a 2xx is recorded) and,
given that de-duplication, nothing is applied twice.

Order per funder: a funder's events are sent in outbox order and a later event never
overtakes an earlier one: only the funder's oldest undelivered events are taken, in
order, and the run stops at the first failure (the later ones wait for that one's
retry).

Three short steps, so that no transaction stays open across the network:

1. *claim* (one transaction): per funder, the longest run of its oldest undelivered
   messages that are due and not claimed by another deliverer; each gets
   ``claimed_until = now + lease``. On PostgreSQL the rows are taken with
   ``FOR UPDATE SKIP LOCKED``, so two deliverers (two server processes) never wait
   on each other nor take the same message; on SQLite the claim holds the database's
   write lock (``BEGIN IMMEDIATE``), which serialises claims.
2. *POST* each claimed message, outside any transaction.
3. *record* each outcome (one transaction per message): 2xx sets ``delivered_at``;
   anything else adds an attempt, keeps a short ``last_error`` and schedules
   ``next_attempt_at`` after an exponential backoff with jitter, and releases the
   funder's remaining claims.

Ids are the order, so an event must not become visible after a later id was already
read (a poller's cursor, or the deliverer, would pass it by). On SQLite writers take
turns, so ids commit in order. On PostgreSQL two transactions may commit their events
out of id order; reads of the outbox therefore stop at :func:`settled_bound`, the
highest id below which nothing can still appear.

The times here (``now``, leases, backoff) are scheduling, not money: they come from
the wall clock of the process that delivers, never from the business date, and are
passed in (``now``) so that tests and callers decide what "now" is.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import String, select, type_coerce, update

from yirong.errors import YirongError
from yirong.funders.tables import Funder
from yirong.infra import signing
from yirong.infra.db import Database, Dialect, Tx
from yirong.infra.opaque import PublicRef
from yirong.infra.outbound import EndpointRefused, guarded_client
from yirong.infra.outbox import OutboxMessage
from yirong.infra.sealed import unseal

log = logging.getLogger("yirong.events")

EVENT_ID_PREFIX = "evt_"
EVENT = PublicRef(EVENT_ID_PREFIX, "event", "event_not_found", digits=18)
RECIPIENT_PREFIX = "funder:"
USER_AGENT = "Yirong-Events/1"
_RNG = random.Random()  # jitter only: nothing secret or financial


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait before the next attempt: ``first * 2**(attempts - 1)``, capped
    at ``cap``, of which the last ``jitter`` fraction is random (so that many failed
    messages, or many funders recovering at once, do not all knock in the same
    instant): 1 s, 2 s, 4 s, ... 10 min by default."""

    first: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(minutes=10)
    jitter: float = 0.5

    def delay(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        exponent = min(max(attempts - 1, 0), 40)
        full = min(self.cap, self.first * (1 << exponent))
        fixed = full * (1 - self.jitter)
        return fixed + (full - fixed) * (rng or _RNG).random()


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Timeouts of one POST, the retry schedule and the claim's lease."""

    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    write_timeout: float = 5.0
    backoff: Backoff = field(default_factory=Backoff)
    # A claim lasts for this margin plus, per claimed message, the longest one POST
    # may take; a deliverer that dies mid-batch leaves its claims to expire.
    lease_margin: timedelta = timedelta(seconds=30)

    @property
    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.read_timeout,
            write=self.write_timeout,
            pool=self.connect_timeout,
        )

    def lease(self, claimed: int) -> timedelta:
        per_post = self.connect_timeout + self.write_timeout + self.read_timeout
        return self.lease_margin + timedelta(seconds=per_post * claimed)


DEFAULT_POLICY = DeliveryPolicy()


@dataclass(frozen=True, slots=True)
class Outcome:
    event_id: str
    recipient: str
    delivered: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    claimed: int
    delivered: int
    failed: int
    outcomes: tuple[Outcome, ...] = ()


@dataclass(frozen=True, slots=True)
class Claimed:
    """One claimed message, with everything its POST needs (read in the claim)."""

    outbox_id: int
    recipient: str
    url: str = field(repr=False)  # may carry credentials of its own
    secret: str = field(repr=False)
    body: bytes
    claimed_until: datetime


def event_id(outbox_id: int) -> str:
    """``evt_`` and 18 digits that do not count the events (a keyed permutation of the
    outbox id): a receiver de-duplicates by it; nobody learns the platform's volume."""
    return EVENT.of(outbox_id)


def envelope(message: OutboxMessage) -> dict[str, Any]:
    """The pushed body (and the core of what ``GET /api/v1/events`` returns)."""
    return {
        "id": event_id(message.id),
        "type": message.topic,
        "business_date": message.business_date.isoformat(),
        "subject_id": message.subject_id,
        "data": json.loads(message.payload),
    }


def utc(moment: datetime) -> datetime:
    """Every delivery time is kept in UTC (SQLite stores them without their zone)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _due(moment: datetime | None, now: datetime) -> bool:
    return moment is None or utc(moment) <= now


def _free(claimed_until: datetime | None, now: datetime) -> bool:
    return claimed_until is None or utc(claimed_until) <= now


SETTLE_WAIT = 0.5  # seconds to wait for writers in flight before using an older bound
_WRITERS = (
    "SELECT coalesce(array_agg(virtualtransaction), '{}') FROM pg_locks "
    "WHERE locktype = 'relation' AND relation = 'outbox'::regclass "
    "AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()"
)
_STILL_WRITING = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'relation' "
    "AND relation = 'outbox'::regclass AND virtualtransaction = ANY(%s)"
)


def settled_bound(db: Database, *, wait: float = SETTLE_WAIT) -> int | None:
    """The highest outbox id such that every event with an id up to it is already
    committed (or never will be): reads in id order stop there. None on SQLite, where
    writers take turns and ids always commit in order.

    On PostgreSQL: read the sequence's last value, then wait for the transactions
    that were writing to the outbox at that moment (an INSERT holds its table lock
    before it draws an id) to end. If they outlast ``wait`` (a long end of day), the
    last bound this process settled is used: later events simply show a little later."""
    if db.dialect is not Dialect.POSTGRESQL:
        return None
    known: dict[str, int] = db.cache("events.settled_bound", dict)
    deadline = time.monotonic() + wait
    with db.engine.connect() as conn:  # autocommit: each statement sees the present
        last = conn.exec_driver_sql(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence('outbox', 'id')::regclass)"
        ).scalar_one()
        bound = int(last or 0)
        writers = list(conn.exec_driver_sql(_WRITERS).scalar_one())
        while writers:
            if not conn.exec_driver_sql(_STILL_WRITING, (writers,)).scalar_one():
                break
            if time.monotonic() > deadline:
                return known.get("bound", 0)
            time.sleep(0.002)
    known["bound"] = max(bound, known.get("bound", 0))
    return known["bound"]


def claim(
    db: Database, *, now: datetime, batch: int = 100, policy: DeliveryPolicy = DEFAULT_POLICY
) -> list[Claimed]:
    """Step 1: claim up to ``batch`` due messages, per funder the longest run of its
    oldest undelivered ones (in order) that is due and claimed by nobody else."""
    now = utc(now)
    bound = settled_bound(db)

    def work(tx: Tx) -> list[Claimed]:
        endpoints = tx.session.execute(
            # The sealed form as stored: each is opened below, so that one funder's
            # unreadable secret holds up its own events only.
            select(Funder.code, Funder.events_url, type_coerce(Funder.events_secret, String))
            .where(Funder.events_url.is_not(None), Funder.events_secret.is_not(None))
            .order_by(Funder.code)
        ).all()
        runs: list[tuple[str, str, list[OutboxMessage]]] = []
        room = batch
        for code, url, stored in endpoints:
            if room <= 0:
                break
            assert url is not None and stored is not None
            secret = _secret_of(code, stored)
            if secret is None:
                continue
            run = _run_of(tx, RECIPIENT_PREFIX + code, now, room, bound)
            if run:
                runs.append((url, secret, run))
                room -= len(run)
        count = sum(len(run) for _, _, run in runs)
        if not count:
            return []
        until = now + policy.lease(count)
        ids = [m.id for _, _, run in runs for m in run]
        tx.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(claimed_until=until)
        )
        return [
            Claimed(
                outbox_id=m.id,
                recipient=m.recipient,
                url=url,
                secret=secret,
                body=json.dumps(envelope(m), separators=(",", ":"), ensure_ascii=False).encode(),
                claimed_until=until,
            )
            for url, secret, run in runs
            for m in run
        ]

    return db.run(work)


def _secret_of(funder: str, stored: str) -> str | None:
    """The funder's signing secret, or None (logged) when it cannot be opened: sealed
    under another secret key, its events wait until the endpoint is set again."""
    try:
        return unseal(stored)
    except YirongError as exc:
        log.warning(
            "events endpoint secret unreadable: set the funder's endpoint again",
            extra={"funder": funder, "code": exc.code},
        )
        return None


def _run_of(
    tx: Tx, recipient: str, now: datetime, room: int, bound: int | None
) -> list[OutboxMessage]:
    """The recipient's oldest undelivered messages that may go now, in order."""
    query = select(OutboxMessage.id).where(
        OutboxMessage.recipient == recipient, OutboxMessage.delivered_at.is_(None)
    )
    if bound is not None:
        query = query.where(OutboxMessage.id <= bound)
    oldest = list(tx.session.scalars(query.order_by(OutboxMessage.id).limit(room)))
    if not oldest:
        return []
    # Lock what nobody else holds (PostgreSQL; SQLite's write lock covers it). A row
    # another deliverer is claiming or recording is skipped, and the run ends before
    # it: a later message may not overtake it.
    locked = {
        m.id: m
        for m in tx.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id.in_(oldest))
            .with_for_update(skip_locked=True)
        )
    }
    run: list[OutboxMessage] = []
    for outbox_id in oldest:
        message = locked.get(outbox_id)
        if (
            message is None
            or message.delivered_at is not None
            or not _due(message.next_attempt_at, now)
            or not _free(message.claimed_until, now)
        ):
            break
        run.append(message)
    return run


def post(client: httpx.Client, claimed: Claimed, policy: DeliveryPolicy) -> str | None:
    """Step 2: one POST, signed now (each attempt has its own timestamp). None when
    the funder's system answered 2xx, else a short reason (never the URL, a header
    or the response body: they may hold secrets)."""
    timestamp, signature = signing.sign(claimed.secret, claimed.body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Yirong-Event-Id": event_id(claimed.outbox_id),
        "X-Yirong-Timestamp": timestamp,
        "X-Yirong-Signature": signature,
    }
    try:
        with client.stream(
            "POST",
            claimed.url,
            content=claimed.body,
            headers=headers,
            timeout=policy.timeout,
            follow_redirects=False,
        ) as response:
            status = response.status_code
    except EndpointRefused:
        return "endpoint not allowed (https to a public address only)"
    except (httpx.HTTPError, httpx.InvalidURL):
        # One coarse word for timeouts, refused connections, resets, bad URLs: the
        # funder reads it, and finer ones would map what answers where.
        return "unreachable"
    if 200 <= status < 300:
        return None
    return f"HTTP {status}"


def record(
    db: Database,
    claimed: Claimed,
    error: str | None,
    *,
    now: datetime,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    release: Sequence[Claimed] = (),
    rng: random.Random | None = None,
) -> None:
    """Step 3: the outcome of one attempt; a failure also releases ``release`` (the
    funder's later messages of this claim, which must wait for this one)."""
    now = utc(now)

    def work(tx: Tx) -> None:
        message = tx.session.get(OutboxMessage, claimed.outbox_id, with_for_update=True)
        if message is None or message.delivered_at is not None:
            return
        message.attempts += 1
        if error is None:
            message.delivered_at = now
            message.last_error = None
            message.next_attempt_at = None
            message.claimed_until = None
        elif message.claimed_until is not None and utc(message.claimed_until) == utc(
            claimed.claimed_until
        ):
            # Still ours (a claim that outlived its lease and was taken over is the
            # new holder's to record).
            message.last_error = error[:200]
            message.next_attempt_at = now + policy.backoff.delay(message.attempts, rng)
            message.claimed_until = None
        if release:
            tx.session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_([c.outbox_id for c in release]),
                    OutboxMessage.claimed_until == claimed.claimed_until,
                )
                .values(claimed_until=None)
            )

    db.run(work)


def deliver_due(
    db: Database,
    *,
    client: httpx.Client,
    now: datetime,
    batch: int = 100,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    rng: random.Random | None = None,
) -> DeliveryReport:
    """Deliver what is due: claim, POST, record. ``now`` is the scheduling clock's
    reading at the start (the wall clock, in production: not money); the time of each
    outcome is ``now`` plus the time elapsed since (a monotonic clock), so backoff
    counts from the failure itself."""
    start = time.monotonic()
    now = utc(now)

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - start)

    claimed = claim(db, now=now, batch=batch, policy=policy)
    outcomes: list[Outcome] = []
    by_recipient: dict[str, list[Claimed]] = {}
    for c in claimed:
        by_recipient.setdefault(c.recipient, []).append(c)
    for recipient, run in by_recipient.items():
        for n, message in enumerate(run):
            error = post(client, message, policy)
            later = run[n + 1 :] if error is not None else []
            record(db, message, error, now=clock(), policy=policy, release=later, rng=rng)
            outcomes.append(Outcome(event_id(message.outbox_id), recipient, error is None, error))
            if error is not None:
                log.warning(
                    "event delivery failed",
                    extra={
                        "event_id": event_id(message.outbox_id),
                        "recipient": recipient,
                        "error": error,
                    },
                )
                break  # the funder's later events wait for this one
    delivered = sum(1 for o in outcomes if o.delivered)
    return DeliveryReport(
        claimed=len(claimed),
        delivered=delivered,
        failed=len(outcomes) - delivered,
        outcomes=tuple(outcomes),
    )


def run_deliverer(
    db: Database,
    stop: threading.Event,
    interval: float = 1.0,
    *,
    client: httpx.Client | None = None,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    batch: int = 100,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """The background deliverer: ``deliver_due`` again and again until ``stop`` is
    set, pausing ``interval`` seconds when nothing was due (at once again when a full
    batch went, since more may wait). Meant for a thread of ``yirong serve``::

        stop = threading.Event()
        thread = threading.Thread(target=run_deliverer, args=(db, stop), daemon=True)
        thread.start()
        ...
        stop.set(); thread.join()

    Several processes may each run one: claims keep them off each other's messages.
    An error (the database away for a moment) is logged and the loop goes on. The
    clock is the wall clock: delivery is scheduling, not money."""
    own = client is None
    http = client or guarded_client(policy.timeout)
    try:
        while not stop.is_set():
            try:
                report = deliver_due(db, client=http, now=clock(), batch=batch, policy=policy)
            except Exception:
                log.exception("event delivery round failed")
                report = DeliveryReport(0, 0, 0)
            if report.claimed < batch or report.failed:
                stop.wait(interval)
    finally:
        if own:
            http.close()
