"""The end of day (日终): everything the closing business date needs, in order, each
step in its own transaction together with the record that it is done. Run again
after a crash (at any point), it skips the steps done and does the rest: nothing
twice, nothing missed. It closes only the books' current date (never skips a day,
never closes one twice), and its last step moves the books to the next day.

Set-based throughout: the loans that fall overdue today are marked and their
wallets frozen a chunk of agents at a time (each funder told of its loans that fell
overdue, in the same transaction), and only the wallets that hold money are swept
one agent at a time; then one read of the open loans gives both the day's accrual
postings (per funder and product) and the portfolio snapshot (per funder, product
and bucket). Funders are paid out (instructions the bank's statement will settle), and
money still waiting (notices without it, payments not yet debited) is listed."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select, text, update

from yirong.agents.tables import Agent
from yirong.books.service import bank_accounts_in, business_date_of, next_business_day_in
from yirong.credit.tables import Offer
from yirong.eod.tables import EodStep
from yirong.errors import YirongError
from yirong.funders.accounts import memo_account, share_account
from yirong.funders.tables import Funder
from yirong.infra.db import Database, Tx
from yirong.infra.outbox import tell
from yirong.ledger import service as ledger
from yirong.ledger.model import Leg, NewEntry, Side
from yirong.loans import model
from yirong.loans.book import charged_interest_sql, charged_penalty_sql
from yirong.loans.buckets import bucket_sql
from yirong.loans.repayments import sweep_in
from yirong.loans.tables import AccrualTotal, Drawdown, PortfolioSnapshot
from yirong.loans.term_loans import charge_open
from yirong.orders.financing import settle_margins_in
from yirong.payments.batch import make_batches_in
from yirong.payments.service import Payee
from yirong.reconciliation.ageing import age_in
from yirong.reconciliation.daily import refresh_unclean_in, run_day_in
from yirong.reconciliation.funder_files import make_files
from yirong.reconciliation.kept_days import unclean_days_in
from yirong.wallets.service import (
    FreezeReason,
    freeze_all_in,
    request_withdrawal_in,
    wallet_account,
)

Progress = Callable[[str, int, int], None]  # step name, steps done, steps in all
OVERDUE_CHUNK = 500  # agents frozen and swept per transaction
EOD_ACTOR = "system:eod"  # who ran what the end of day runs
CHUNK_STEP = "overdue.chunk"  # each full chunk's record; the step's adds them up
EXPIRED, FELL_OVERDUE, RETURNED = (
    model.Event.EXPIRED,
    model.Event.FELL_OVERDUE,
    model.Event.RETURNED,
)


@dataclass
class EodReport:
    business_date: date
    done: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # done by an earlier, interrupted run


def steps() -> list[tuple[str, Callable[[Database, date], dict[str, Any]]]]:
    return [
        ("expire", _expire),
        # Overdue before the accrual: what the day's sweeps repay was repaid today, and
        # a repayment's own day is not charged (算头不算尾); accrued after them, the
        # day is charged on what they left, as the loans themselves charge it.
        ("overdue", _overdue),
        # After the overdue step: a defaulted order's margin goes to its debt (swept
        # today), a repaid one's back to the wallet.
        ("order_margins", _order_margins),
        ("accrue_and_snapshot", _accrue_and_snapshot),
        ("payouts", _payouts),
        ("payment_batches", _payment_batches),
        ("reconciliation", _waiting_money),
        ("reconcile", _reconcile),
        ("funder_files", _funder_files),
        ("advance", _advance),
    ]


def run_eod(
    db: Database, business_date: date | None = None, progress: Progress | None = None
) -> EodReport:
    """Close ``business_date`` (default: the books' current date)."""
    today = db.run(business_date_of, readonly=True)
    day = business_date or today
    if day < today:
        raise YirongError(
            "eod_already_run", f"{day} is closed; the books are on {today}.", date=str(day)
        )
    if day > today:
        raise YirongError(
            "eod_date_ahead", f"The books are on {today}; close that day first.", date=str(day)
        )
    report = EodReport(day)
    done = _done_steps(db, day)
    plan = steps()
    for n, (name, step) in enumerate(plan):
        if progress:
            progress(name, n, len(plan))
        if name in done:
            report.skipped.append(name)
            continue
        report.done[name] = step(db, day)
    if progress:
        progress("done", len(plan), len(plan))
    return report


def eod_status(db: Database) -> dict[str, Any]:
    """The books' date, and the steps of its end of day already done (an interrupted run)."""
    today = db.run(business_date_of, readonly=True)
    planned = {name for name, _ in steps()}
    done = _done_steps(db, today) & planned
    return {"business_date": today, "steps_done": sorted(done)}


def _done_steps(db: Database, day: date) -> set[str]:
    return set(
        db.run(
            lambda tx: tx.session.scalars(
                select(EodStep.step).where(EodStep.business_date == day)
            ).all(),
            readonly=True,
        )
    )


def _record(tx: Tx, day: date, step: str, detail: dict[str, Any]) -> dict[str, Any]:
    tx.session.add(EodStep(business_date=day, step=step, detail=json.dumps(detail, default=str)))
    tx.session.flush()
    return detail


# ---------------------------------------------------------------- steps


def _expire(db: Database, day: date) -> dict[str, Any]:
    """Offers past their expiry, and orders no money came for by their deadline
    (the line's amount is free again)."""

    def work(tx: Tx) -> dict[str, Any]:
        offers = tx.conn.execute(
            update(Offer)
            .where(Offer.status == "live", Offer.expires_on <= day)
            .values(status="expired")
        ).rowcount
        orders = tx.conn.execute(
            update(Drawdown)
            .where(Drawdown.status.in_(model.sources(EXPIRED)), Drawdown.fund_by <= day)
            .values(status=model.target(EXPIRED), closed_on=day, reason="not_funded_in_time")
        ).rowcount
        return _record(tx, day, "expire", {"offers": offers, "orders": orders})

    return db.run(work)


def _bucket_sql(day_ord: str) -> str:
    # The due date's ordinal is the first penalty day less the grace days and one.
    return bucket_sql(f"({day_ord} - (d.overdue_day - d.grace_days - 1))")


def portfolio_sql() -> str:
    """One read of the outstanding loans as of the end of ``:day`` (clocks advanced to
    ``:next_ord``, the next day's ordinal): per funder, product and bucket, the loans,
    principal, interest and penalty due, and what open clocks have charged in all."""
    interest = charged_interest_sql()
    penalty = charged_penalty_sql()
    return f"""
SELECT funder_id, product_id, bucket, COUNT(*) AS loans, SUM(principal) AS principal,
  SUM(interest - interest_paid) AS interest_due, SUM(penalty - penalty_paid) AS penalty_due,
  SUM(CASE WHEN accrual_open THEN interest ELSE 0 END) AS open_interest,
  SUM(CASE WHEN accrual_open THEN penalty ELSE 0 END) AS open_penalty
FROM (
  SELECT d.funder_id, d.product_id, d.principal, d.interest_paid, d.penalty_paid, d.accrual_open,
    {_bucket_sql(":next_ord - 1")} AS bucket,
    {interest} AS interest, {penalty} AS penalty
  FROM drawdowns d WHERE d.status IN ('credited', 'overdue')
) loans
GROUP BY funder_id, product_id, bucket
"""


def _accrue_and_snapshot(db: Database, day: date) -> dict[str, Any]:
    """The day's interest and penalty, posted to each funder's memo book per product
    (closed clocks' charges + open clocks' charges − what was posted before), and the
    end-of-day portfolio by bucket."""

    def work(tx: Tx) -> dict[str, Any]:
        charge_open(tx, day)  # term loans: the model's charges, for the SQL to read
        rows = tx.conn.execute(
            text(portfolio_sql()), {"next_ord": (day + timedelta(days=1)).toordinal()}
        ).all()
        charged: dict[tuple[int, int, str], int] = {}
        for r in rows:
            tx.session.add(
                PortfolioSnapshot(
                    business_date=day,
                    funder_id=r.funder_id,
                    product_id=r.product_id,
                    bucket=r.bucket,
                    loans=int(r.loans),
                    principal=int(r.principal),
                    interest_due=int(r.interest_due),
                    penalty_due=int(r.penalty_due),
                )
            )
            for kind, value in (("interest", r.open_interest), ("penalty", r.open_penalty)):
                key = (r.funder_id, r.product_id, kind)
                charged[key] = charged.get(key, 0) + int(value)
        totals = {
            (t.funder_id, t.product_id, t.kind): t
            for t in tx.session.scalars(select(AccrualTotal).with_for_update())
        }
        codes = _funder_codes(tx)
        posted = 0
        for key in sorted(set(charged) | set(totals)):
            total = totals.get(key)
            if total is None:
                total = AccrualTotal(
                    funder_id=key[0], product_id=key[1], kind=key[2], closed=0, posted=0
                )
                tx.session.add(total)
            amount = total.closed + charged.get(key, 0) - total.posted
            if amount <= 0:
                continue
            funder = codes[key[0]]
            ledger.post(
                tx,
                NewEntry(
                    f"accrual:{day}:{funder}:{key[1]}:{key[2]}",
                    f"loan.accrual.{key[2]}",
                    (
                        Leg(
                            ledger.account_by_code(tx, memo_account(funder, key[2])).id,
                            Side.DEBIT,
                            amount,
                        ),
                        Leg(
                            ledger.account_by_code(tx, memo_account(funder, "income")).id,
                            Side.CREDIT,
                            amount,
                        ),
                    ),
                    memo=f"product {key[1]}",
                ),
            )
            total.posted += amount
            posted += amount
        return _record(tx, day, "accrue_and_snapshot", {"accrued": posted, "groups": len(rows)})

    return db.run(work)


def _overdue(db: Database, day: date) -> dict[str, Any]:
    """Loans whose grace ends today are overdue from tomorrow: marked, their agents'
    wallets frozen, and what the wallets hold swept into the overdue debt. In chunks
    of agents, each its own transaction with the record of what it did; a rerun picks
    up the agents not yet done, and the step's record adds up every chunk's."""
    while True:
        totals, last = db.run(partial(_overdue_chunk, day=day))
        if last:
            return totals


def _overdue_chunk(tx: Tx, day: date) -> tuple[dict[str, int], bool]:
    """One chunk of agents: their late loans marked and their wallets frozen in a few
    statements for all of them; then each wallet that holds money swept (the others
    have nothing to sweep: sweep_in would find that out one agent at a time)."""
    first_overdue = day + timedelta(days=1)
    late = (
        Drawdown.status.in_(model.sources(FELL_OVERDUE)),
        Drawdown.overdue_day <= first_overdue.toordinal(),
    )
    agents = tx.session.execute(
        select(Drawdown.agent_id, Agent.code)
        .join(Agent, Agent.id == Drawdown.agent_id)
        .where(*late)
        .group_by(Drawdown.agent_id, Agent.code)
        .order_by(Drawdown.agent_id)
        .limit(OVERDUE_CHUNK)
    ).all()
    marked = 0
    if agents:
        fallen = tx.conn.execute(
            update(Drawdown)
            .where(Drawdown.agent_id.in_([agent_id for agent_id, _ in agents]), *late)
            .values(status=model.target(FELL_OVERDUE))
            .returning(
                Drawdown.id,
                Drawdown.funder_id,
                Drawdown.order_ref,
                Drawdown.due_date,
                Drawdown.principal,
            )
        ).all()
        marked = len(fallen)
        _tell_overdue(tx, day, sorted(fallen))
    handles = [f"agent:{code}" for _, code in agents]
    accounts = freeze_all_in(
        tx, handles, FreezeReason.OVERDUE, note=f"overdue from {first_overdue}", actor="eod"
    )
    balances = ledger.balances_of(tx, list(accounts.values()))
    swept = sum(
        sweep_in(tx, code, first_overdue) is not None
        for (_, code), handle in zip(agents, handles, strict=True)
        if balances[accounts[handle].id].available > 0
    )
    chunk = {"loans": marked, "agents": len(agents), "swept": swept}
    earlier = [
        json.loads(detail)
        for detail in tx.session.scalars(
            select(EodStep.detail).where(
                EodStep.business_date == day, EodStep.step.like(f"{CHUNK_STEP}.%")
            )
        )
    ]
    if len(agents) == OVERDUE_CHUNK:  # more may follow: this chunk's own record
        _record(tx, day, f"{CHUNK_STEP}.{len(earlier)}", chunk)
        return chunk, False
    totals = {k: chunk[k] + sum(e[k] for e in earlier) for k in chunk}
    return _record(tx, day, "overdue", totals), True


def _order_margins(db: Database, day: date) -> dict[str, Any]:
    """Order financing's margins: released for advances repaid, applied to the debt of
    advances overdue; and the holds of approved financings whose funder's money never
    came released."""

    def work(tx: Tx) -> dict[str, Any]:
        released, applied, lapsed = settle_margins_in(tx)
        return _record(
            tx, day, "order_margins", {"released": released, "applied": applied, "lapsed": lapsed}
        )

    return db.run(work)


def _tell_overdue(tx: Tx, day: date, fallen: list[Any]) -> None:
    """Each funder hears of its loans that fell overdue, in the chunk's transaction
    (a chunk committed is never told again: its loans are no longer ``credited``)."""
    if not fallen:
        return
    codes = _funder_codes(tx)
    first_overdue = day + timedelta(days=1)
    for drawdown_id, funder_id, order_ref, due_date, principal in fallen:
        tell(
            tx,
            f"funder:{codes[funder_id]}",
            "loan.overdue",
            drawdown_id,
            day,
            order_ref=order_ref,
            due_date=due_date,
            overdue_from=first_overdue,
            principal=principal,
        )


def _funder_codes(tx: Tx) -> dict[int, str]:
    return {fid: code for fid, code in tx.session.execute(select(Funder.id, Funder.code))}


def _payouts(db: Database, day: date) -> dict[str, Any]:
    """代付: what each funder's payment account holds goes to its bank (a hold until the
    bank confirms, as any withdrawal). Money for an order that waited there (the
    agent's wallet could not take it) goes with it: that order is returned, its
    funder told."""

    def work(tx: Tx) -> dict[str, Any]:
        returned = _return_funded(tx, day)
        paid = {}
        for funder in tx.session.scalars(select(Funder).order_by(Funder.code)):
            handle = f"funder:{funder.code}"
            available = ledger.balance_of(tx, wallet_account(tx, handle)).available
            if funder.share_settlement == "net" and available > 0:
                available -= _keep_back_share(tx, funder.code, handle, available, day)
            if available > 0:
                request_withdrawal_in(
                    tx,
                    handle,
                    available,
                    f"payout:{funder.code}:{day}",
                    kind="payout",
                    payee=Payee(
                        funder.name, funder.settlement_bank_account, funder.settlement_bank_name
                    ),
                )
                paid[funder.code] = available
        return _record(tx, day, "payouts", {"funders": paid, "returned": returned})

    return db.run(work)


def _return_funded(tx: Tx, day: date) -> int:
    rows = tx.conn.execute(
        update(Drawdown)
        .where(Drawdown.status.in_(model.sources(RETURNED)))
        .values(status=model.target(RETURNED), closed_on=day, reason="wallet_could_not_take_it")
        .returning(Drawdown.id, Drawdown.funder_id, Drawdown.order_ref, Drawdown.amount)
    ).all()
    codes = _funder_codes(tx) if rows else {}
    for drawdown_id, funder_id, order_ref, amount in sorted(rows):
        tell(
            tx,
            f"funder:{codes[funder_id]}",
            "drawdown.returned",
            drawdown_id,
            day,
            order_ref=order_ref,
            amount=amount,
            reason="wallet_could_not_take_it",
        )
    return len(rows)


def _keep_back_share(tx: Tx, code: str, handle: str, available: int, day: date) -> int:
    """The platform's share the funder owes, kept back from its payout (as far as the
    payout goes): the funder's payment account pays the share receivable. Returns
    what was kept back."""
    receivable = ledger.account_by_code(tx, share_account(code))
    owed = ledger.balance_of(tx, receivable).balance
    kept = min(owed, available)
    if kept > 0:
        ledger.post(
            tx,
            NewEntry(
                f"share-net:{code}:{day}",
                "loan.revenue_share_netted",
                (
                    Leg(wallet_account(tx, handle).id, Side.DEBIT, kept),
                    Leg(receivable.id, Side.CREDIT, kept),
                ),
            ),
        )
    return kept


def _payment_batches(db: Database, day: date) -> dict[str, Any]:
    """The day's payments (withdrawals, payouts, returns) leave for the bank as batch
    files; each settles only when the bank's statement shows its debit."""

    def work(tx: Tx) -> dict[str, Any]:
        made = make_batches_in(tx, day)
        detail = {"batches": [b.reference for b in made], "payments": sum(b.payments for b in made)}
        return _record(tx, day, "payment_batches", detail)

    return db.run(work)


def _waiting_money(db: Database, day: date) -> dict[str, Any]:
    """对账: notices still without money, payments the bank has not debited, and parts
    of orders that closed without the rest become exceptions for an operator."""
    return db.run(lambda tx: _record(tx, day, "reconciliation", age_in(tx, day)))


def _reconcile(db: Database, day: date) -> dict[str, Any]:
    """日终对账: the day before is reconciled, the books against the bank (its statement
    comes the next morning, T+1), and the days still unclean are run again (one whose
    items were resolved since is then clean). The verdict is the step's record."""

    def work(tx: Tx) -> dict[str, Any]:
        before = day - timedelta(days=1)
        detail: dict[str, Any] = {"day": before, "clean": None}
        if any(a.opened_on <= before for a in bank_accounts_in(tx)):
            report = run_day_in(tx, before, actor=EOD_ACTOR)
            detail.update(
                clean=report.clean,
                bank_closing_fen=report.bank_closing,
                books_fen=report.books,
                difference_fen=report.difference,
                explained_fen=report.explained,
                open_items=report.open_items,
            )
        refresh_unclean_in(tx, actor=EOD_ACTOR)
        detail["unclean_days"] = sorted({str(k.figures.day) for k in unclean_days_in(tx)})
        return _record(tx, day, "reconcile", detail)

    return db.run(work)


def _funder_files(db: Database, day: date) -> dict[str, Any]:
    """Each funder's files for the day (loan book, repayments, payouts), made from the
    books as they stand at its end and kept: funders read them the next morning."""
    made = make_files(db, day)
    return db.run(lambda tx: _record(tx, day, "funder_files", {"files": len(made)}))


def _advance(db: Database, day: date) -> dict[str, Any]:
    """The books move to the next day; when that closes a month, each funder is told
    its revenue-share statement for the month can be read (``statement.ready``)."""

    def work(tx: Tx) -> dict[str, Any]:
        moved_to = next_business_day_in(tx)
        if moved_to.month != day.month:  # the month closed: its statements can be read
            month = f"{day:%Y-%m}"
            for funder_id, code in sorted(_funder_codes(tx).items(), key=lambda f: f[1]):
                tell(
                    tx,
                    f"funder:{code}",
                    "statement.ready",
                    funder_id,
                    day,
                    funder=code,
                    month=month,
                )
        return _record(tx, day, "advance", {"business_date": moved_to})

    return db.run(work)
