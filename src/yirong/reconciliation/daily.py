"""The day's reconciliation (日终对账), the books against the bank: per bank account, the
bank's balance at the end of the day from its statements, the books' balance for the
same day from the ledger, and the items that explain the difference
(``daily_model``). One run is one transaction; its result is kept.

The books are read as they stand when the run runs, for the bank's day: the bank
account's posted ledger balance, less what bank lines booked after the day brought
(so that both sides stop at the same line), less the payments instructed by the day
that the bank has not yet debited (a cash book counts a payment when it is made).
Every posting on a bank account's ledger account comes from a bank line in this
design, so anything else (a posting without a line, a line posted for another
amount) shows as an ``unexplained`` difference: the check does not trust the
matching it checks.

Running a day again gives the same result while nothing about it changed (and keeps
no new version, ``kept_days``); once its items are resolved, running it again finds
it clean."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import aliased

from yirong.books.service import BankAccountView, bank_accounts_in, business_date_of
from yirong.errors import YirongError
from yirong.infra.db import Tx, transactional
from yirong.ledger import service as ledger
from yirong.payments.tables import Payment
from yirong.reconciliation.daily_model import (
    BankSide,
    DayFigures,
    Item,
    ItemKind,
    payment_item,
    settle_day,
)
from yirong.reconciliation.kept_days import keep_figures, unclean_days_in
from yirong.reconciliation.model import ExceptionKind
from yirong.reconciliation.rules import rules_in
from yirong.reconciliation.tables import BankLine, ReconException, Statement

_DIFFERS = (ExceptionKind.SHORT.value, ExceptionKind.OVER.value)


@dataclass(frozen=True, slots=True)
class DayReport:
    day: date
    clean: bool
    accounts: tuple[DayFigures, ...]
    versions: tuple[int, ...]  # the kept version of each account's result
    run_on: date

    @property
    def bank_closing(self) -> int:
        return sum(a.bank.closing for a in self.accounts if a.bank is not None)

    @property
    def books(self) -> int:
        return sum(a.books for a in self.accounts)

    @property
    def difference(self) -> int:
        return sum(a.difference for a in self.accounts)

    @property
    def explained(self) -> int:
        return sum(a.explained for a in self.accounts)

    @property
    def open_items(self) -> int:
        return sum(a.open_items for a in self.accounts)


@transactional
def run_day(tx: Tx, day: date, *, actor: str = "operator") -> DayReport:
    """Reconcile ``day`` (before today's business date) for every bank account."""
    return run_day_in(tx, day, actor=actor)


def run_day_in(tx: Tx, day: date, *, actor: str) -> DayReport:
    today = business_date_of(tx)
    if day >= today:
        raise YirongError("recon_day_not_closed", day=day, business_date=today)
    window = rules_in(tx)["payment_wait"].days_after
    found: list[DayFigures] = []
    versions: list[int] = []
    for account in _accounts_open_on(tx, day):
        figures = reconcile_account(tx, account, day, window)
        found.append(figures)
        versions.append(keep_figures(tx, account, figures, today, actor))
    return DayReport(day, all(f.clean for f in found), tuple(found), tuple(versions), today)


def _accounts_open_on(tx: Tx, day: date) -> list[BankAccountView]:
    return [a for a in bank_accounts_in(tx) if a.opened_on <= day]


def reconcile_account(tx: Tx, account: BankAccountView, day: date, window: int) -> DayFigures:
    bank, gaps = _bank_side(tx, account, day)
    items = [*gaps, *_unbooked_lines(tx, account, day), *_suspense_lines(tx, account, day)]
    transit = _open_payments(tx, account, day, window)
    items += transit
    books = (
        ledger.balance_of(tx, ledger.account_by_code(tx, account.ledger_account)).balance
        - _booked_after(tx, account, day)
        - sum(item.effect for item in transit)
    )
    return settle_day(account.number, day, bank, books, items)


# ---------------------------------------------------------------- the bank's side


def _bank_side(tx: Tx, account: BankAccountView, day: date) -> tuple[BankSide | None, list[Item]]:
    """The bank's balances for the day, carried from the statements' opening balances
    through the lines; ``None`` when no statement speaks for the day. And a
    ``statement_gap`` item wherever a statement does not open at the balance the one
    before it and the lines between lead to: lines the bank never gave us, in the
    bank's balance from that statement on and in no book (their sum is the gap)."""
    statements = list(
        tx.session.scalars(
            select(Statement)
            .where(Statement.bank_account_id == account.id, Statement.from_date <= day)
            .order_by(Statement.from_date, Statement.id)
        )
    )
    later = tx.session.scalars(
        select(Statement)
        .where(Statement.bank_account_id == account.id, Statement.from_date > day)
        .order_by(Statement.from_date, Statement.id)
        .limit(1)
    ).one_or_none()
    if not statements:
        return None, []
    moved = dict(
        tx.conn.execute(
            select(BankLine.booking_date, func.sum(_signed()))
            .where(BankLine.bank_account_id == account.id)
            .group_by(BankLine.booking_date)
        ).all()
    )
    gaps: list[Item] = []
    anchor = statements[0]
    for stmt in statements[1:]:
        gaps += _gap(anchor, stmt, moved)
        anchor = stmt
    if anchor.to_date < day:
        # No statement runs through the day. The exports print no empty day: the next
        # statement opening where this one's lines lead says nothing moved between.
        if later is None:
            return None, gaps
        gap = _gap(anchor, later, moved)
        if gap:
            return None, gaps + gap
    opening = anchor.opening_balance + _between(moved, anchor.from_date, day)
    credits, debits = _day_moves(tx, account, day)
    names = tuple(s.bank_statement_id for s in statements if s.to_date >= day)
    return BankSide(opening, credits, debits, opening + credits - debits, names), gaps


def _gap(before: Statement, after: Statement, moved: dict[date, int]) -> list[Item]:
    expected = before.opening_balance + _between(moved, before.from_date, after.from_date)
    if after.opening_balance == expected:
        return []
    return [
        Item(
            ItemKind.STATEMENT_GAP,
            f"statement:{after.bank_statement_id}"[:80],
            after.opening_balance - expected,
            after.from_date,
            f"opens at {after.opening_balance} fen where the statement before and the lines"
            f" between lead to {expected} fen: lines the bank never gave us",
        )
    ]


def _signed() -> ColumnElement[int]:
    return case((BankLine.direction == "C", BankLine.amount), else_=-BankLine.amount)


def _between(moved: dict[date, int], start: date, end: date) -> int:
    """The lines' net from ``start`` up to, not including, ``end``."""
    return sum(int(total) for booked, total in moved.items() if start <= booked < end)


def _day_moves(tx: Tx, account: BankAccountView, day: date) -> tuple[int, int]:
    credits, debits = tx.conn.execute(
        select(
            func.coalesce(func.sum(case((BankLine.direction == "C", BankLine.amount), else_=0)), 0),
            func.coalesce(func.sum(case((BankLine.direction == "D", BankLine.amount), else_=0)), 0),
        ).where(BankLine.bank_account_id == account.id, BankLine.booking_date == day)
    ).one()
    return int(credits), int(debits)


# ---------------------------------------------------------------- the books' side


def _booked() -> ColumnElement[bool]:
    """A line whose money is on the books: everything but an exception whose money was
    taken out of suspense again (and a line not yet taken, which a crash may leave)."""
    return and_(
        BankLine.status != "new",
        or_(BankLine.status != "exception", BankLine.suspense_entry_id.is_not(None)),
    )


def _booked_after(tx: Tx, account: BankAccountView, day: date) -> int:
    total = tx.conn.scalar(
        select(func.coalesce(func.sum(_signed()), 0)).where(
            BankLine.bank_account_id == account.id, BankLine.booking_date > day, _booked()
        )
    )
    return int(total or 0)


def _unbooked_lines(tx: Tx, account: BankAccountView, day: date) -> list[Item]:
    """平台漏单: the bank moved this money; the books hold it nowhere."""
    rows = tx.session.scalars(
        select(BankLine).where(
            BankLine.bank_account_id == account.id,
            BankLine.booking_date <= day,
            ~_booked(),
        )
    )
    return [
        Item(
            ItemKind.MISSING_IN_BOOKS,
            f"line:{line.id}",
            line.amount if line.direction == "C" else -line.amount,
            line.booking_date,
            f"the bank's {'credit' if line.direction == 'C' else 'debit'} is on no account"
            f" of the books: {line.memo}"[:300],
        )
        for line in rows
    ]


def _suspense_lines(tx: Tx, account: BankAccountView, day: date) -> list[Item]:
    """The day's lines the books hold in suspense, their exception still open: the
    money is counted (it moves no balance apart), but nobody yet knows whose it is, or
    it is for another amount. Listed on the day the bank booked the line: each open
    exception makes one day unclean, not every day after it."""
    rows = tx.conn.execute(
        select(ReconException.id, ReconException.kind, BankLine.booking_date, ReconException.detail)
        .join(BankLine, BankLine.id == ReconException.line_id)
        .where(
            ReconException.status == "open",
            BankLine.bank_account_id == account.id,
            BankLine.booking_date == day,
            BankLine.suspense_entry_id.is_not(None),
        )
    )
    return [
        Item(
            ItemKind.AMOUNT_DIFFERS if kind in _DIFFERS else ItemKind.SUSPENSE,
            f"exception:{exc_id}",
            0,
            booked,
            f"{kind}: {detail}"[:300],
        )
        for exc_id, kind, booked, detail in rows
    ]


def _open_payments(tx: Tx, account: BankAccountView, day: date, window: int) -> list[Item]:
    """Payments instructed by the day and still open at its end, as the bank's facts
    tell: a payment closes on the booking date of the bank's debit line that settled
    it, or on the day its hold was released (refused, or returned before it was
    debited). Read so, a day's payments in transit stay what they were that evening."""
    resolution = ledger.entry_rows()
    settled = aliased(BankLine)
    closed_on = func.coalesce(settled.booking_date, resolution.c.business_date)
    rows = tx.conn.execute(
        select(Payment.reference, Payment.amount, Payment.instructed_on)
        .outerjoin(settled, settled.id == Payment.bank_line_id)
        .outerjoin(resolution, resolution.c.pending_id == Payment.hold_entry_id)
        .where(
            Payment.bank_account == account.ledger_account,
            Payment.instructed_on <= day,
            or_(Payment.status == "instructed", closed_on > day),
        )
    )
    return [payment_item(ref, amount, on, day, window) for ref, amount, on in rows]


def refresh_unclean_in(tx: Tx, *, actor: str) -> list[DayReport]:
    """Run again every day still unclean and not signed off (the end of day does):
    a day whose items were resolved since is then found clean."""
    days = sorted({kept.figures.day for kept in unclean_days_in(tx)})
    return [run_day_in(tx, day, actor=actor) for day in days]
