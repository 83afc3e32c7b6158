"""The outbox: what must be told to someone outside (a funder's system), written in
the same transaction as the change it reports, so that nothing is told that did not
happen and nothing that happened goes untold. ``infra/delivery.py`` pushes it to each
funder's events endpoint (signed, retried); a funder may also read it through the API.
The message's id is the event id a receiver de-duplicates by."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, String, Text, insert, text
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base, Id
from yirong.infra.db import Dialect, Tx
from yirong.infra.direct import send


class OutboxMessage(Base):
    __tablename__ = "outbox"
    # What the deliverer and a polling funder look for: a recipient's undelivered events.
    __table_args__ = (
        Index(
            "ix_outbox_undelivered",
            "recipient",
            "id",
            postgresql_where=text("delivered_at IS NULL"),
            sqlite_where=text("delivered_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    recipient: Mapped[str] = mapped_column(String(64), index=True)  # funder:F01
    topic: Mapped[str] = mapped_column(String(64))  # drawdown.ordered, repayment.received...
    subject_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)  # JSON
    business_date: Mapped[date] = mapped_column(Date)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Delivery bookkeeping (wall clock: when to knock again, not money).
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200))


def tell(tx: Tx, recipient: str, topic: str, subject_id: int, today: date, **payload: Any) -> None:
    """One message, written now (a Core insert, not the ORM's at its next flush: it is
    on every money request's path), so that a transaction's messages keep the order
    they were told in."""
    send(
        tx,
        _TELL,
        {
            "recipient": recipient,
            "topic": topic,
            "subject_id": subject_id,
            "payload": json.dumps(payload, default=str, sort_keys=True),
            "business_date": today,
        },
    )


_TELL = insert(OutboxMessage).values(attempts=0)


def tell_many(tx: Tx, messages: list[dict[str, Any]]) -> None:
    """:func:`tell` for many messages in one statement (each: recipient, topic,
    subject_id, today, payload), in the order given."""
    if not messages:
        return
    rows = [
        {
            "recipient": m["recipient"],
            "topic": m["topic"],
            "subject_id": m["subject_id"],
            "payload": json.dumps(m["payload"], default=str, sort_keys=True),
            "business_date": m["today"],
            "attempts": 0,
        }
        for m in messages
    ]
    if tx.dialect is Dialect.POSTGRESQL:
        # One JSON parameter, in order (ids follow it): a chunk tells thousands at once.
        send(tx, _TELL_MANY_PG, {"rows": json.dumps(rows, default=str)})
        return
    tx.conn.execute(insert(OutboxMessage), rows)


_TELL_MANY_PG = text(
    "INSERT INTO outbox (recipient, topic, subject_id, payload, business_date,"
    " attempts) SELECT x->>'recipient', x->>'topic', (x->>'subject_id')::bigint,"
    " x->>'payload', (x->>'business_date')::date, 0"
    " FROM json_array_elements(CAST(:rows AS json)) WITH ORDINALITY AS j(x, n)"
    " ORDER BY n"
)
