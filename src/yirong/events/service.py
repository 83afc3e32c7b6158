"""Reading the outbox as events (what a funder was or will be told, with how its
delivery went), asking for a stuck one to be tried again now, and setting where a
funder's events go."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update

from yirong.errors import YirongError
from yirong.events.delivery import (
    EVENT,
    RECIPIENT_PREFIX,
    SETTLE_WAIT,
    event_id,
    settled_bound,
    utc,
)
from yirong.funders.service import funder_row
from yirong.infra.db import Database, Tx
from yirong.infra.outbox import OutboxMessage


@dataclass(frozen=True, slots=True)
class EventView:
    """The pushed body (id, type, business_date, subject_id, data) and its delivery."""

    id: str  # evt_<n>: what a receiver de-duplicates by
    type: str
    business_date: date
    subject_id: int
    data: dict[str, Any]
    recipient: str  # funder:F01
    attempts: int
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None

    @property
    def seq(self) -> int:
        return outbox_id_of(self.id)


def outbox_id_of(event: str) -> int:
    """An event's public id (``evt_`` and 18 digits) -> its outbox id."""
    return EVENT.number_of(event)


def funder_of(recipient: str) -> str | None:
    return (
        recipient.removeprefix(RECIPIENT_PREFIX) if recipient.startswith(RECIPIENT_PREFIX) else None
    )


def view(message: OutboxMessage) -> EventView:
    return EventView(
        id=event_id(message.id),
        type=message.topic,
        business_date=message.business_date,
        subject_id=message.subject_id,
        data=json.loads(message.payload),
        recipient=message.recipient,
        attempts=message.attempts,
        delivered_at=_utc(message.delivered_at),
        next_attempt_at=_utc(message.next_attempt_at),
        last_error=message.last_error,
    )


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else utc(moment)


def list_events(
    db: Database,
    *,
    recipient: str | None = None,
    topic: str | None = None,
    delivered: bool | None = None,
    after: int = 0,
    limit: int = 50,
    settle_wait: float = SETTLE_WAIT,
) -> list[EventView]:
    """Events in outbox order after the id ``after``: a funder's (its recipient), or
    everyone's. Only settled ones (``delivery.settled_bound``): an event still being
    committed shows on a later call, never behind a cursor that already passed it."""
    bound = settled_bound(db, wait=settle_wait)

    def read(tx: Tx) -> list[EventView]:
        query = select(OutboxMessage).where(OutboxMessage.id > after)
        if bound is not None:
            query = query.where(OutboxMessage.id <= bound)
        if recipient is not None:
            query = query.where(OutboxMessage.recipient == recipient)
        if topic is not None:
            query = query.where(OutboxMessage.topic == topic)
        if delivered is not None:
            column = OutboxMessage.delivered_at
            query = query.where(column.is_not(None) if delivered else column.is_(None))
        found = tx.session.scalars(query.order_by(OutboxMessage.id).limit(limit))
        return [view(m) for m in found]

    return db.run(read, readonly=True)


def _message(tx: Tx, outbox_id: int, *, lock: bool = False) -> OutboxMessage:
    found = tx.session.get(OutboxMessage, outbox_id, with_for_update=lock)
    if found is None:
        raise YirongError("event_not_found", event=event_id(outbox_id))
    return found


def get_event(db: Database, outbox_id: int) -> EventView:
    return db.run(lambda tx: view(_message(tx, outbox_id)), readonly=True)


def redeliver(db: Database, outbox_id: int, *, now: datetime) -> EventView:
    """Try an undelivered event again at the next delivery round rather than at its
    scheduled retry: it and the funder's earlier undelivered events (which it waits
    for) become due ``now`` (the wall clock: scheduling, not money)."""
    moment = utc(now)

    def work(tx: Tx) -> EventView:
        message = _message(tx, outbox_id, lock=True)
        if message.delivered_at is not None:
            raise YirongError("event_already_delivered", event=event_id(outbox_id))
        code = funder_of(message.recipient)
        funder = funder_row(tx, code) if code is not None else None
        if funder is None or not funder.events_url or not funder.events_secret:
            raise YirongError("events_endpoint_missing", recipient=message.recipient)
        tx.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.recipient == message.recipient,
                OutboxMessage.delivered_at.is_(None),
                OutboxMessage.id <= outbox_id,
            )
            .values(next_attempt_at=moment)
        )
        tx.session.refresh(message)
        return view(message)

    return db.run(work)


def events_endpoint(db: Database, funder_code: str) -> str | None:
    """The URL the funder's events go to (None: it reads them with the API)."""

    return db.run(lambda tx: funder_row(tx, funder_code).events_url, readonly=True)
