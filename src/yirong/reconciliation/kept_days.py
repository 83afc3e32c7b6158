"""The day's reconciliation as kept: each run's result for each bank account, a new
version only when it differs from the latest, read back exactly as it was found; the
days still unclean that nobody has signed off; an operator's sign-off."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from yirong.books.service import BankAccountView, bank_accounts_in, business_date_of
from yirong.errors import YirongError
from yirong.infra.db import Tx, read_only, transactional
from yirong.reconciliation.daily_model import BankSide, DayFigures, Item, ItemKind
from yirong.reconciliation.tables import ReconDay, ReconDayItem


def keep_figures(
    tx: Tx, account: BankAccountView, figures: DayFigures, today: date, actor: str
) -> int:
    """The result as a new version, unless it is what the latest version found."""
    latest = tx.session.scalars(
        select(ReconDay)
        .where(ReconDay.day == figures.day, ReconDay.bank_account_id == account.id)
        .where(ReconDay.latest.is_(True))
        .with_for_update()
    ).one_or_none()
    fingerprint = figures.fingerprint()
    if latest is not None and latest.fingerprint == fingerprint:
        return latest.version
    if latest is not None:
        latest.latest = False
        tx.session.flush()
    bank = figures.bank
    record = ReconDay(
        day=figures.day,
        bank_account_id=account.id,
        version=1 if latest is None else latest.version + 1,
        latest=True,
        clean=figures.clean,
        bank_opening=bank.opening if bank else None,
        bank_credits=bank.credits if bank else None,
        bank_debits=bank.debits if bank else None,
        bank_closing=bank.closing if bank else None,
        statements=",".join(bank.statements if bank else ())[:400],
        books=figures.books,
        difference=figures.difference,
        explained=figures.explained,
        open_items=figures.open_items,
        fingerprint=fingerprint,
        run_on=today,
        run_by=actor[:80],
    )
    tx.session.add(record)
    tx.session.flush()
    tx.session.add_all(
        ReconDayItem(
            recon_day_id=record.id,
            kind=item.kind.value,
            ref=item.ref[:80],
            effect=item.effect,
            since=item.since,
            detail=item.detail[:300],
        )
        for item in figures.items
    )
    tx.session.flush()
    return record.version


def _acknowledgement(row: ReconDay) -> Acknowledgement | None:
    if row.acknowledged_by is None:
        return None
    assert row.acknowledged_on is not None
    return Acknowledgement(row.acknowledged_by, row.acknowledged_on, row.acknowledged_note or "")


# ---------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    by: str
    on: date
    note: str


@dataclass(frozen=True, slots=True)
class KeptDay:
    """A day's latest result for one bank account, as it was kept."""

    figures: DayFigures
    version: int
    run_on: date
    run_by: str
    acknowledged: Acknowledgement | None


def _kept(tx: Tx, rows: Sequence[ReconDay]) -> list[KeptDay]:
    numbers = {a.id: a.number for a in bank_accounts_in(tx)}
    found: dict[int, list[Item]] = {row.id: [] for row in rows}
    for item in tx.session.scalars(
        select(ReconDayItem)
        .where(ReconDayItem.recon_day_id.in_(list(found)))
        .order_by(ReconDayItem.id)
    ):
        found[item.recon_day_id].append(
            Item(ItemKind(item.kind), item.ref, item.effect, item.since, item.detail)
        )
    kept = []
    for row in rows:
        bank = None
        if row.bank_closing is not None:
            assert row.bank_opening is not None
            assert row.bank_credits is not None and row.bank_debits is not None
            names = tuple(row.statements.split(",")) if row.statements else ()
            bank = BankSide(
                row.bank_opening, row.bank_credits, row.bank_debits, row.bank_closing, names
            )
        figures = DayFigures(
            numbers[row.bank_account_id],
            row.day,
            bank,
            row.books,
            row.difference,
            row.explained,
            tuple(found[row.id]),
            row.clean,
        )
        kept.append(KeptDay(figures, row.version, row.run_on, row.run_by, _acknowledgement(row)))
    return kept


@read_only
def kept_day(tx: Tx, day: date) -> list[KeptDay]:
    """The day's kept result, each bank account's latest version: shown again exactly
    as it was found (``recon_day_not_run`` when the day was never reconciled)."""
    rows = list(
        tx.session.scalars(
            select(ReconDay)
            .where(ReconDay.day == day, ReconDay.latest.is_(True))
            .order_by(ReconDay.bank_account_id)
        )
    )
    if not rows:
        raise YirongError("recon_day_not_run", day=day)
    return _kept(tx, rows)


def unclean_days_in(tx: Tx, *, limit: int = 400) -> list[KeptDay]:
    """Days whose latest result is not clean and nobody has signed off: what operators
    must see until it is resolved. Oldest first."""
    rows = list(
        tx.session.scalars(
            select(ReconDay)
            .where(
                ReconDay.latest.is_(True),
                ReconDay.clean.is_(False),
                ReconDay.acknowledged_by.is_(None),
            )
            .order_by(ReconDay.day, ReconDay.bank_account_id)
            .limit(limit)
        )
    )
    return _kept(tx, rows)


unclean_days = read_only(unclean_days_in)


@read_only
def recent_days(tx: Tx, *, days: int = 10) -> list[KeptDay]:
    """Every bank account's kept result for the last ``days`` days reconciled, newest
    first: the operators' dashboard."""
    last = list(
        tx.session.scalars(
            select(ReconDay.day)
            .where(ReconDay.latest.is_(True))
            .group_by(ReconDay.day)
            .order_by(ReconDay.day.desc())
            .limit(days)
        )
    )
    if not last:
        return []
    rows = list(
        tx.session.scalars(
            select(ReconDay)
            .where(ReconDay.latest.is_(True), ReconDay.day >= min(last))
            .order_by(ReconDay.day.desc(), ReconDay.bank_account_id)
        )
    )
    return _kept(tx, rows)


@dataclass(frozen=True, slots=True)
class DayCounts:
    clean: int
    unclean: int  # latest result unclean (signed off or not)
    open: int  # unclean and not signed off


@read_only
def day_counts(tx: Tx) -> DayCounts:
    """How many days (of any bank account) are clean, unclean, and unclean unsigned."""
    rows = tx.conn.execute(
        select(ReconDay.clean, ReconDay.acknowledged_by.is_(None), func.count())
        .where(ReconDay.latest.is_(True))
        .group_by(ReconDay.clean, ReconDay.acknowledged_by.is_(None))
    ).all()
    clean = sum(n for ok, _, n in rows if ok)
    unclean = sum(n for ok, _, n in rows if not ok)
    waiting = sum(n for ok, unsigned, n in rows if not ok and unsigned)
    return DayCounts(clean, unclean, waiting)


@transactional
def acknowledge_day(tx: Tx, day: date, note: str, *, actor: str) -> list[KeptDay]:
    """An operator signs off an unclean day, saying why (the bank paid late and has
    since, a fee booked by hand...): it leaves the list of days to look at. The
    result itself is not changed, and running the day again keeps its own verdict."""
    note = note.strip()
    if not note:
        raise YirongError("recon_acknowledge_needs_note", day=day)
    rows = list(
        tx.session.scalars(
            select(ReconDay)
            .where(ReconDay.day == day, ReconDay.latest.is_(True), ReconDay.clean.is_(False))
            .with_for_update()
        )
    )
    if not rows:
        raise YirongError("recon_day_not_unclean", day=day)
    today = business_date_of(tx)
    for row in rows:
        if row.acknowledged_by is None:
            row.acknowledged_by, row.acknowledged_on = actor[:80], today
            row.acknowledged_note = note[:300]
    tx.session.flush()
    return _kept(tx, rows)
