"""What the bankfiles tests share: the samples, a line as a flat row of every field, and
the composed identity worked out here from its documented rule (not by the code under
test)."""

from __future__ import annotations

import hashlib
from datetime import date, time
from pathlib import Path

from yirong.bankfiles.model import BankLine, BankStatement

SAMPLES = Path(__file__).parent / "samples"

# (booking date, value date, time, direction, amount in fen, identity, serial,
#  counterparty name, account, bank, memo, end-to-end ref, sub-account, running balance,
#  reversal)
Row = tuple[
    date, date, time | None, str, int, str, str, str, str, str, str, str, str, int | None, bool
]


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def row(line: BankLine) -> Row:
    return (
        line.booking_date,
        line.value_date,
        line.booked_at,
        line.direction.value,
        line.amount,
        line.identity,
        line.bank_serial,
        line.counterparty_name,
        line.counterparty_account,
        line.counterparty_bank,
        line.memo,
        line.end_to_end_ref,
        line.virtual_account,
        line.balance_after,
        line.reversal,
    )


def rows(stmt: BankStatement) -> list[Row]:
    return [row(line) for line in stmt.lines]


def facts(stmt: BankStatement) -> tuple[object, ...]:
    return (
        stmt.format,
        stmt.account_number,
        stmt.account_name,
        stmt.currency,
        stmt.statement_id,
        stmt.from_date,
        stmt.to_date,
        stmt.opening_balance,
        stmt.closing_balance,
        stmt.credits,
        stmt.debits,
    )


def composed(*printed: str) -> str:
    """``c:`` + the first 32 hex of SHA-256 over booking date, time, direction, amount,
    counterparty account, running balance and memo joined by U+001F (the documented rule)."""
    return "c:" + hashlib.sha256("\x1f".join(printed).encode()).hexdigest()[:32]
