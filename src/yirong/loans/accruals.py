"""The totals the end of day posts accrual from, per funder, product and kind
(interest, penalty): what closed loans charged in all (``closed``) and what was
posted so far (``posted``). A loan adds its final charges here when it closes and
takes them back when a reversal reopens it; open loans are read from the book."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import object_session
from sqlalchemy.orm.util import identity_key

from yirong.infra.db import Tx, insert_new, per_dialect
from yirong.loans.interest import charged
from yirong.loans.tables import AccrualTotal, Drawdown

KINDS = ("interest", "penalty")  # the order every caller locks the rows in


def add_to_closed(tx: Tx, funder_id: int, product_id: int, charges: Mapping[str, int]) -> None:
    """Add each kind's charge to the closed total (a row made on first use), in one
    statement that locks the rows until the transaction ends: a closing repayment is
    on the API's hot path, and a read then a write was two round trips a kind."""
    rows = [
        {"funder_id": funder_id, "product_id": product_id, "kind": kind, "closed": charges[kind]}
        for kind in KINDS
        if charges.get(kind)
    ]
    if not rows:
        return
    tx.session.flush()  # the session's own changes first, as its reads would be
    tx.conn.execute(_upsert(tx), rows)
    for row in rows:  # a total this transaction loaded as an object is read again
        found = tx.session.identity_map.get(
            identity_key(AccrualTotal, (funder_id, product_id, row["kind"]))
        )
        if found is not None and object_session(found) is tx.session:
            tx.session.expire(found, ["closed"])


def final_charges(d: Drawdown) -> dict[str, int]:
    """What a line's drawdown charged in all when its clock closed, by kind."""
    return {
        "interest": charged(d.normal_fen_days, d.annual_rate_ppm, d.day_basis),
        "penalty": charged(d.penalty_fen_days, d.penalty_rate_ppm, d.day_basis),
    }


@per_dialect
def _upsert(tx: Tx) -> Any:
    table = AccrualTotal.__table__
    new = insert_new(tx, table).values(posted=0)
    return new.on_conflict_do_update(
        index_elements=[table.c.funder_id, table.c.product_id, table.c.kind],
        set_={"closed": table.c.closed + new.excluded.closed},
    )
