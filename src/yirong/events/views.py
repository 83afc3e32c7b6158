"""Routes: the events a funder is told (the outbox), for a funder's system to read
(polling by cursor, when it has no endpoint or missed a push), and for operators to
watch deliveries and try a stuck event again now.

Each event is the body that was (or will be) pushed, ``id``, ``type``,
``business_date``, ``subject_id``, ``data``, and its delivery: ``attempts``,
``delivered_at``, ``next_attempt_at``, ``last_error``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query

from yirong.access.principals import Principal
from yirong.api.pages import Cursor, Limit, Page, after_of, page_of
from yirong.api.routing import api_router
from yirong.api.security import DB, FunderOrOperator, Operator, deny, hidden
from yirong.events import service
from yirong.events.delivery import RECIPIENT_PREFIX
from yirong.events.service import EventView
from yirong.roles import Role

router = api_router("events")

EventId = Annotated[
    str,
    Path(
        pattern=r"^evt_[0-9]{18}$",
        description="The event's id, such as evt_402817365519084736",
    ),
]
Recipient = Annotated[
    str | None,
    Query(
        pattern=r"^funder:[A-Za-z0-9_-]{1,32}$",
        description="Only this recipient's events (funder:F01); a funder sees only its own.",
    ),
]
Topic = Annotated[
    str | None,
    Query(
        alias="type",
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9_.]+$",
        description="Only events of this type, such as drawdown.ordered",
    ),
]
Delivered = Annotated[
    bool | None, Query(description="true: only delivered events; false: only undelivered")
]


def own_event(who: Principal, event: EventView) -> EventView:
    """A funder sees its own events; operators all."""
    if who.role is Role.OPERATOR:
        return event
    if who.role is Role.FUNDER and event.recipient == RECIPIENT_PREFIX + who.subject:
        return event
    raise hidden("event_not_found", event=event.id)


@router.get(
    "/events",
    response_model=Page[EventView],
    summary="Events in order (a funder: its own), paged by cursor: poll with next_cursor",
)
def list_events(
    who: FunderOrOperator,
    db: DB,
    recipient: Recipient = None,
    topic: Topic = None,
    delivered: Delivered = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[EventView]:
    if who.role is Role.FUNDER:
        own = RECIPIENT_PREFIX + who.subject
        if recipient is not None and recipient != own:
            raise deny()
        recipient = own
    found = service.list_events(
        db,
        recipient=recipient,
        topic=topic,
        delivered=delivered,
        after=after_of(cursor),
        limit=limit + 1,
    )
    return page_of(found, limit, lambda e: e.seq)


@router.get("/events/{event_id}", response_model=EventView, summary="One event and its delivery")
def get_event(event_id: EventId, who: FunderOrOperator, db: DB) -> EventView:
    return own_event(who, service.get_event(db, service.outbox_id_of(event_id)))


@router.post(
    "/events/{event_id}/redeliver",
    response_model=EventView,
    summary="Try an undelivered event (and the funder's earlier ones) again now",
)
def redeliver(event_id: EventId, _who: Operator, db: DB) -> EventView:
    # The wall clock: when to knock again is scheduling, not money.
    return service.redeliver(db, service.outbox_id_of(event_id), now=datetime.now(UTC))
