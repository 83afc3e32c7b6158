"""Suspense (待匹配资金): where a bank line's money waits, labelled, while nobody knows
yet what it is for. A credit line in suspense: the reserve account is debited and
suspense credited (money we hold for someone); a debit line: the other way round
(money the bank paid out that someone owes back). Releasing reverses the booking."""

from __future__ import annotations

from yirong.bankfiles.model import Direction
from yirong.books.service import SUSPENSE
from yirong.infra.db import Tx
from yirong.ledger import service as ledger
from yirong.ledger.model import Leg, NewEntry, Reverse, Side


def book(tx: Tx, line_id: int, direction: str, amount: int, bank_account: str, move: int) -> int:
    """Book the line's money to suspense; returns the entry (each booking of a line has
    its own key: a line may be released and booked again)."""
    bank = ledger.account_by_code(tx, bank_account).id
    suspense = ledger.account_by_code(tx, SUSPENSE).id
    into = direction == Direction.CREDIT.value
    posted = ledger.post(
        tx,
        NewEntry(
            f"bank:{line_id}:suspense:{move}",
            "bank.suspense",
            (
                Leg(bank if into else suspense, Side.DEBIT, amount),
                Leg(suspense if into else bank, Side.CREDIT, amount),
            ),
            memo=f"bank line {line_id}",
        ),
    )
    assert posted.entry_id is not None
    return posted.entry_id


def release(tx: Tx, line_id: int, entry_id: int, move: int) -> None:
    """Take the line's money out of suspense again (the booking reversed, not edited)."""
    ledger.post(tx, Reverse(f"bank:{line_id}:release:{move}", "bank.suspense_release", entry_id))
