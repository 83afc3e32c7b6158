"""An account's statement: its latest movements with a running balance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import text

from yirong.infra.db import Tx, read_only
from yirong.ledger.model import Account, AccountKind, Phase, Side
from yirong.ledger.service import AccountBalance, account_by_code, account_by_id, balance_of


@dataclass(frozen=True, slots=True)
class StatementLine:
    entry_id: int
    business_date: date
    code: str
    phase: Phase
    side: Side
    amount: int
    balance_after: int | None  # posted balance after this line (None for a hold)
    memo: str | None


@dataclass(frozen=True, slots=True)
class Statement:
    balance: AccountBalance
    lines: list[StatementLine]  # oldest first
    total_lines: int


@read_only
def statement(tx: Tx, account: str, *, limit: int = 50, before: int | None = None) -> Statement:
    """``account`` is an account code (``wallet:agent:A001``) or a numeric id. The
    latest ``limit`` lines, or the ``limit`` lines before entry ``before`` (the next
    page back in time)."""
    found = account_by_id(tx, int(account)) if account.isdigit() else account_by_code(tx, account)
    bal = balance_of(tx, found)
    bound = before if before is not None else 2**62
    rows = tx.conn.execute(
        text(
            "SELECT e.id, e.business_date, e.code, e.phase, p.side, p.amount, e.memo "
            "FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id "
            "WHERE p.account_id = :account AND p.entry_id < :bound "
            "ORDER BY e.id DESC, p.leg DESC LIMIT :limit"
        ),
        {"account": found.id, "limit": limit, "bound": bound},
    ).all()
    total = tx.conn.execute(
        text("SELECT COUNT(*) FROM ledger_postings WHERE account_id = :account"),
        {"account": found.id},
    ).scalar_one()
    # Walk back from the balance just before ``before`` so the newest line ends on it.
    running = bal.balance
    if before is not None:
        later = tx.conn.execute(
            text(
                "SELECT p.side, SUM(p.amount) FROM ledger_postings p "
                "JOIN ledger_entries e ON e.id = p.entry_id "
                "WHERE p.account_id = :account AND p.entry_id >= :bound AND e.phase = 'posted' "
                "GROUP BY p.side"
            ),
            {"account": found.id, "bound": before},
        ).all()
        running -= sum(_signed(found, Side(side), int(amount)) for side, amount in later)
    lines: list[StatementLine] = []
    for entry_id, day, code, phase_name, side_name, amount, memo in rows:
        phase, side = Phase(phase_name), Side(side_name)
        after = running if phase is Phase.POSTED else None
        if phase is Phase.POSTED:
            running -= _signed(found, side, amount)
        lines.append(
            StatementLine(
                entry_id,
                day if isinstance(day, date) else date.fromisoformat(day),
                code,
                phase,
                side,
                amount,
                after,
                memo,
            )
        )
    lines.reverse()
    return Statement(bal, lines, int(total))


def _signed(account: Account, side: Side, amount: int) -> int:
    """The posting's effect on the balance as seen from the account's normal side."""
    debit_normal = account.kind in (AccountKind.ASSET, AccountKind.EXPENSE)
    return amount if (side is Side.DEBIT) == debit_normal else -amount
