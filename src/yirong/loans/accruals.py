"""The totals the end of day posts accrual from, per funder, product and kind
(interest, penalty): what closed loans charged in all (``closed``) and what was
posted so far (``posted``). A loan adds its final charges here when it closes and
takes them back when a reversal reopens it; open loans are read from the book."""

from __future__ import annotations

from yirong.infra.db import Tx
from yirong.loans.tables import AccrualTotal


def accrual_total(tx: Tx, funder_id: int, product_id: int, kind: str) -> AccrualTotal:
    """The total, locked for this transaction (made on first use)."""
    found = tx.session.get(AccrualTotal, (funder_id, product_id, kind), with_for_update=True)
    if found is None:
        found = AccrualTotal(
            funder_id=funder_id, product_id=product_id, kind=kind, closed=0, posted=0
        )
        tx.session.add(found)
        tx.session.flush()
    return found
