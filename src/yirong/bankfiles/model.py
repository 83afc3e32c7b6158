"""A bank statement (银行对账单) as values: what every layout is read into and written
from. Pure and immutable; money is integer fen (分), signed where it is a balance.

A line's ``identity`` is how the platform recognises the same line when the bank sends
it again (an overlapping statement, a re-export): the bank's serial when the layout
prints one, otherwise a digest of what the bank printed about the line."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, time
from enum import StrEnum


class Direction(StrEnum):
    CREDIT = "C"  # money into the account (贷方, CRDT)
    DEBIT = "D"  # money out of the account (借方, DBIT)


@dataclass(frozen=True, slots=True)
class BankLine:
    booking_date: date
    value_date: date  # 起息日 / ValDt / :61: value date; = booking_date when the layout has none
    direction: Direction
    amount: int  # fen, > 0
    identity: str  # stable identity of the line within its account (see line_identity)
    counterparty_name: str = ""
    counterparty_account: str = ""
    counterparty_bank: str = ""
    memo: str = ""  # 摘要 / 用途 / 附言 / RmtInf Ustrd / :86:, several joined by " | "
    bank_serial: str = ""  # 流水号 / 凭证号 / AcctSvcrRef / :61: bank reference; "" if none
    end_to_end_ref: str = ""  # EndToEndId / 业务参考号 / 商务支付订单号 / :61: customer ref
    virtual_account: str = ""  # the sub-account (虚拟账号/子账号) credited, where carried
    balance_after: int | None = None  # running balance in signed fen, where printed
    booked_at: time | None = None  # 交易时间, where printed
    reversal: bool = False  # 冲账标志 / camt RvslInd / MT940 RC, RD

    @property
    def signed(self) -> int:
        """The line's effect on the balance: + for a credit, - for a debit."""
        return self.amount if self.direction is Direction.CREDIT else -self.amount


@dataclass(frozen=True, slots=True)
class BankStatement:
    format: str  # "camt053" | "mt940" | "cmb" | "icbc" | "csv"
    account_number: str  # as printed, spaces and dashes removed
    account_name: str
    currency: str  # ISO code: always "CNY" once parsed
    statement_id: str
    from_date: date
    to_date: date
    opening_balance: int  # signed fen
    closing_balance: int
    lines: tuple[BankLine, ...]  # in booking order

    @property
    def credits(self) -> int:
        return sum(line.amount for line in self.lines if line.direction is Direction.CREDIT)

    @property
    def debits(self) -> int:
        return sum(line.amount for line in self.lines if line.direction is Direction.DEBIT)


_SEP = "\x1f"  # ASCII unit separator: cannot occur in a printed field, so no two compose alike


def line_identity(
    *,
    booking_date: date,
    booked_at: time | None,
    direction: Direction,
    amount: int,
    counterparty_account: str,
    balance_after: int | None,
    memo: str,
    bank_serial: str = "",
) -> str:
    """``"s:" + serial`` when the bank gives a serial; otherwise ``"c:"`` and the first 32
    hex characters of the SHA-256 of the UTF-8 fields booking date (ISO), time (ISO or
    empty), direction (C/D), amount (fen), counterparty account, running balance (fen or
    empty) and memo, joined by U+001F. Lines of one statement that come out alike are told
    apart by :func:`number_repeats`."""
    if bank_serial:
        return "s:" + bank_serial
    composed = _SEP.join(
        (
            booking_date.isoformat(),
            "" if booked_at is None else booked_at.isoformat(),
            direction,
            str(amount),
            counterparty_account,
            "" if balance_after is None else str(balance_after),
            memo,
        )
    )
    return "c:" + hashlib.sha256(composed.encode()).hexdigest()[:32]


def identified(line: BankLine) -> BankLine:
    """The line with the identity its own fields give it (see :func:`line_identity`)."""
    return replace(
        line,
        identity=line_identity(
            booking_date=line.booking_date,
            booked_at=line.booked_at,
            direction=line.direction,
            amount=line.amount,
            counterparty_account=line.counterparty_account,
            balance_after=line.balance_after,
            memo=line.memo,
            bank_serial=line.bank_serial,
        ),
    )


def number_repeats(lines: Iterable[BankLine]) -> tuple[BankLine, ...]:
    """The lines, with the second, third... line whose composed identity was already seen
    suffixed ``#2``, ``#3``... in the order given: two identical transfers on one day
    without a serial are two lines, not one sent twice. A serial is the bank's own
    identity and is left as it is."""
    seen: dict[str, int] = {}
    out: list[BankLine] = []
    for line in lines:
        if not line.identity.startswith("c:"):
            out.append(line)
            continue
        count = seen.get(line.identity, 0) + 1
        seen[line.identity] = count
        out.append(line if count == 1 else replace(line, identity=f"{line.identity}#{count}"))
    return tuple(out)
