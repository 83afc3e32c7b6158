"""Proving a statement before anyone uses it: it is in yuan, its lines are in booking
order, and they lead from the opening balance to the closing balance, through every
running balance (余额) the bank printed. A statement that proves nothing (no balances at
all) is refused, as is one whose chain breaks, naming where."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from yirong.bankfiles.fields import currency_code, malformed
from yirong.bankfiles.model import BankLine, BankStatement, Direction, number_repeats
from yirong.errors import YirongError

_CREDIT = Direction.CREDIT


@dataclass(frozen=True, slots=True)
class Draft:
    """What a layout's reader found, before it is proved. ``lines`` are in file order;
    ``place(i)`` says where the file printed line ``i`` (for error details); ``None``
    means the file did not print that value."""

    format: str
    account_number: str
    account_name: str
    currency: str
    statement_id: str
    from_date: date | None
    to_date: date | None
    opening_balance: int | None
    closing_balance: int | None
    lines: Sequence[BankLine]
    place: Callable[[int], str]
    where: str  # the statement as a whole: "file", "Stmt 2", "message 3 (line 40)"
    numbered: bool = False  # True when the reader already suffixed repeated identities


@dataclass(frozen=True, slots=True)
class _Break:
    expected: int
    found: int
    place: str
    field: str


def settle(draft: Draft) -> BankStatement:
    """The proved statement, or a refusal: ``statement_currency_not_cny``,
    ``statement_malformed`` (nothing to prove it by, no account, no dates) or
    ``statement_unbalanced`` (expected and found balance, and where)."""
    currency = currency_code(draft.currency, place=draft.where)
    if not draft.account_number:
        raise malformed(draft.where, "account", "no account number")
    lines, opening, closing = _proved(draft)
    days = [line.booking_date for line in lines]
    from_date = draft.from_date or (min(days) if days else None)
    to_date = draft.to_date or (max(days) if days else None)
    if from_date is None or to_date is None:
        raise malformed(draft.where, "period", "no dates: the statement has no period")
    if from_date > to_date:
        raise malformed(draft.where, "period", "the period ends before it begins")
    account = draft.account_number
    return BankStatement(
        format=draft.format,
        account_number=account,
        account_name=draft.account_name,
        currency=currency,
        statement_id=draft.statement_id or f"{account}:{from_date}:{to_date}",
        from_date=from_date,
        to_date=to_date,
        opening_balance=opening,
        closing_balance=closing,
        lines=tuple(lines) if draft.numbered else number_repeats(lines),
    )


def _proved(draft: Draft) -> tuple[Sequence[BankLine], int, int]:
    """The lines oldest first, with the opening and closing balance they lead between.
    A file printed newest first (common in 网银 exports) is recognised by its running
    balances chaining only when read backwards; without balances, by its dates running
    backwards."""
    lines = draft.lines
    opening, closing = _ends(draft, lines)
    broken = _chain_break(lines, opening, closing, draft.place)
    printed = any(line.balance_after is not None for line in lines)
    if broken is None and (printed or not _dates_run_backwards(lines)):
        return lines, opening, closing
    last = len(lines) - 1
    backwards = lines[::-1]
    back_opening, back_closing = _ends(draft, backwards)
    back_broken = _chain_break(
        backwards, back_opening, back_closing, lambda i: draft.place(last - i)
    )
    if back_broken is None:
        return backwards, back_opening, back_closing
    # Broken read either way: report it in the order the dates suggest.
    raise _unbalanced(
        back_broken if broken is None or _dates_run_backwards(lines) else broken, draft.where
    )


def _dates_run_backwards(lines: Sequence[BankLine]) -> bool:
    if len(lines) < 2 or lines[0].booking_date <= lines[-1].booking_date:
        return False
    days = [line.booking_date for line in lines]
    return all(a >= b for a, b in itertools.pairwise(days))


def _ends(draft: Draft, lines: Sequence[BankLine]) -> tuple[int, int]:
    """Opening and closing balance: as printed, else from the first and last running
    balance (the balance before the first line is its balance less its own amount)."""
    opening = draft.opening_balance
    closing = draft.closing_balance
    if opening is None:
        moved = 0
        for line in lines:
            moved += line.signed
            if line.balance_after is not None:
                opening = line.balance_after - moved
                break
    if closing is None:
        moved = 0
        for line in reversed(lines):
            if line.balance_after is not None:
                closing = line.balance_after + moved
                break
            moved -= line.signed
    if opening is None and closing is None:
        raise malformed(
            draft.where,
            "balances",
            "neither an opening and closing balance nor running balances: nothing proves it",
        )
    if opening is None:
        raise malformed(draft.where, "opening balance", "missing")
    if closing is None:
        raise malformed(draft.where, "closing balance", "missing")
    return opening, closing


def _chain_break(
    lines: Sequence[BankLine], opening: int, closing: int, place: Callable[[int], str]
) -> _Break | None:
    running = opening
    for i, line in enumerate(lines):
        running += line.amount if line.direction is _CREDIT else -line.amount
        if line.balance_after is not None and line.balance_after != running:
            return _Break(running, line.balance_after, place(i), "running balance")
    if running != closing:
        return _Break(running, closing, "closing balance", "closing balance")
    return None


def _unbalanced(broken: _Break, where: str) -> YirongError:
    return YirongError(
        "statement_unbalanced",
        f"{where}: at {broken.place} the {broken.field} should be {broken.expected} fen "
        f"(opening plus credits less debits so far) but the bank printed {broken.found} fen.",
        expected=broken.expected,
        found=broken.found,
        place=broken.place,
        field=broken.field,
        statement=where,
    )
