"""A funder's accounts besides its payment account (its wallet, ``funder:<code>``):

* in the platform's books, the revenue share it owes the platform (an asset of ours);
* in its own memo book (the loans it owns, kept for it): principal, interest and
  penalty receivable, the interest income they earn, and the cash it has lent out
  through the platform (credited when lent, debited when collected)."""

from __future__ import annotations

from datetime import date

from yirong.infra.db import Tx
from yirong.ledger import service as ledger
from yirong.ledger.model import PLATFORM_BOOK, AccountKind

# Receivables are the funder's assets; "lent" is the other side of them: the cash the
# funder put out through the platform and has not yet collected back.
MEMO_KINDS = {
    "principal": AccountKind.ASSET,
    "interest": AccountKind.ASSET,
    "penalty": AccountKind.ASSET,
    "income": AccountKind.INCOME,
    "lent": AccountKind.MEMO,
}
MEMO_PARTS = tuple(MEMO_KINDS)


def memo_book(funder_code: str) -> str:
    return f"funder:{funder_code}"


def share_account(funder_code: str) -> str:
    return f"share:{funder_code}"


def memo_account(funder_code: str, part: str) -> str:
    return f"loan:{funder_code}:{part}"


def open_funder_accounts(tx: Tx, funder_code: str, name: str, today: date) -> None:
    ledger.open_book(tx, memo_book(funder_code), f"Loans owned by {name}"[:200], kind="memo")
    ledger.open_account(
        tx,
        share_account(funder_code),
        book=PLATFORM_BOOK,
        kind=AccountKind.ASSET,
        name=f"Revenue share owed by {name}"[:200],
        opened_on=today,
        owner_type="funder",
        owner_ref=funder_code,
    )
    for part in MEMO_PARTS:
        ledger.open_account(
            tx,
            memo_account(funder_code, part),
            book=memo_book(funder_code),
            kind=MEMO_KINDS[part],
            name=f"{part} — loans of {name}"[:200],
            opened_on=today,
            owner_type="funder",
            owner_ref=funder_code,
        )
