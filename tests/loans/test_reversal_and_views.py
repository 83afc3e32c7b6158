"""A reversed repayment: its postings and revenue share reversed, the loan owing as if
it had never been made; the monthly revenue-share statement; days past due and
buckets per drawdown, agent and funder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.bank import fund
from tests.credit.market import Market
from tests.databases import BACKENDS
from tests.loans.story import close_days_until, market_with_line
from yirong.books.service import current_business_date
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.infra.outbox import OutboxMessage
from yirong.ledger import service as ledger
from yirong.ledger.tables import LedgerEntry
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import drawdowns_of, request_drawdown
from yirong.loans.repayments import owed_now, repay
from yirong.loans.reversals import reverse_repayment
from yirong.loans.standing import agent_standing, funder_portfolio, past_due_loans
from yirong.loans.statements import month_bounds, revenue_share_statement
from yirong.loans.tables import Repayment
from yirong.wallets import service as wallets

DAILY = 120  # 360,000 fen at 12% on a 360-day basis: exactly 120 fen a day


def balance(db: Database, code: str) -> int:
    return db.run(lambda tx: ledger.balance_of(tx, ledger.account_by_code(tx, code)).balance)


def entries(db: Database) -> int:
    return db.run(lambda tx: tx.session.scalar(select(func.count()).select_from(LedgerEntry)))


def lent(market: Market, amount: int = 360_000, days: int = 30) -> str:
    agent = market.code(0)
    order = request_drawdown(market.db, agent, amount, days, f"dd-{amount}-{days}")
    fund(market.db, "T1", order.order_ref, amount)
    return agent


def fail_payout(db: Database, day: date) -> None:
    """The bank refused the end of day's payout to T1: the money stays in its account."""
    hold = db.run(
        lambda tx: tx.session.scalar(
            select(LedgerEntry.id).where(LedgerEntry.idempotency_key == f"payout:T1:{day}")
        )
    )
    assert hold is not None
    wallets.fail_withdrawal(db, hold, reason="account closed")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reversed_repayment_owes_again_as_if_it_had_never_been_made(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db = market.db
    agent = lent(market)
    handle = f"agent:{agent}"
    close_days_until(market, date(2026, 1, 10))
    before = wallets.wallet(db, handle).balance
    paid = repay(db, agent, None, "all")
    assert (paid.interest, paid.principal, paid.share) == (5 * DAILY, 360_000, 120)
    assert balance(db, "share:T1") == 120
    [loan] = drawdowns_of(db, agent)
    assert loan.status == "repaid"
    close_days_until(market, date(2026, 1, 13))
    fail_payout(db, date(2026, 1, 10))

    back = reverse_repayment(db, paid.id, "  paid from the wrong  wallet ")
    assert back.outcome == "created"
    assert wallets.wallet(db, handle).balance == before
    assert balance(db, "share:T1") == 0 and balance(db, "platform:revenue_share") == 0
    # Eight days since the drawdown (01-05 .. 01-12 counted), as if never repaid.
    [owed] = owed_now(db, agent)
    assert (owed.principal, owed.interest, owed.penalty) == (360_000, 8 * DAILY, 0)
    [loan] = drawdowns_of(db, agent)
    assert (loan.status, loan.principal) == ("credited", 360_000)
    # The end of day accrues on the reopened clock: the funder's memo book shows the
    # interest receivable of 9 days, none of it collected any more.
    close_days_until(market, date(2026, 1, 14))
    assert balance(db, "loan:T1:interest") == 9 * DAILY
    # Asked again: the same reversal, nothing moved.
    count = entries(db)
    assert reverse_repayment(db, paid.id, "again").outcome == "exists"
    assert entries(db) == count
    topics = db.run(
        lambda tx: list(tx.session.scalars(select(OutboxMessage.topic).order_by(OutboxMessage.id)))
    )
    assert topics[-1] == "repayment.reversed"
    report = verify(db)
    assert report.ok, report


@pytest.mark.parametrize("backend", BACKENDS)
def test_only_the_latest_repayment_reverses_and_refusals_change_nothing(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db = market.db
    agent = lent(market)
    close_days_until(market, date(2026, 1, 8))
    first = repay(db, agent, 100_000, "one")
    second = repay(db, agent, 50_000, "two")
    count = entries(db)
    for repayment_id, reason, code in (
        (first.id, "mistake", "later_repayment_exists"),
        (999_999, "mistake", "repayment_not_found"),
        (second.id, "   ", "reason_required"),
    ):
        with pytest.raises(YirongError) as refused:
            reverse_repayment(db, repayment_id, reason)
        assert refused.value.code == code
    assert entries(db) == count
    reverse_repayment(db, second.id, "mistake")
    reverse_repayment(db, first.id, "mistake")
    [owed] = owed_now(db, agent)
    assert (owed.principal, owed.interest) == (360_000, 3 * DAILY)
    # Paid out at the end of day (the bank took it): the repayment can no longer be
    # reversed from the funder's account.
    third = repay(db, agent, 10_000, "three")
    close_days_until(market, date(2026, 1, 9))
    count = entries(db)
    with pytest.raises(YirongError) as refused:
        reverse_repayment(db, third.id, "too late")
    assert refused.value.code == "repayment_paid_out"
    assert entries(db) == count
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_monthly_statement_lists_shares_and_reversals_and_matches_the_ledger(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db = market.db
    agent = lent(market)
    close_days_until(market, date(2026, 1, 30))
    january = repay(db, agent, 2_000, "jan")  # 25 days' interest: 3,000; 2,000 of it
    close_days_until(market, date(2026, 2, 3))
    february = repay(db, agent, 10_000, "feb")
    reverse_repayment(db, february.id, "disputed")
    again = repay(db, agent, 10_000, "feb-again")

    jan = revenue_share_statement(db, "T1", "2026-01")
    assert [(line.kind, line.interest, line.share) for line in jan.lines] == [
        ("repayment", 2_000, 400)
    ]
    feb = revenue_share_statement(db, "T1", "2026-02")
    assert [(line.kind, line.share) for line in feb.lines] == [
        ("repayment", february.share),
        ("reversal", -february.share),
        ("repayment", again.share),
    ]
    assert feb.share == again.share == (2 * again.interest * 200_000 + 10**6) // (2 * 10**6)
    # What the statements say the funder owes is what the ledger holds.
    assert jan.share + feb.share == balance(db, "share:T1")
    assert january.share == 400
    for bad in ("2026-13", "2026-1", "soon", "2026-02-01"):
        with pytest.raises(YirongError) as refused:
            month_bounds(bad)
        assert refused.value.code == "month_invalid"
    assert month_bounds("2026-12") == (date(2026, 12, 1), date(2027, 1, 1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_days_past_due_and_buckets_per_drawdown_agent_and_funder(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db = market.db
    agent = lent(market, days=7)  # due 2026-01-12
    standing = agent_standing(db, agent)
    assert (standing.days_past_due, standing.bucket) == (0, "M0")
    wallets.pay_carrier(db, f"agent:{agent}", wallets.wallet(db, f"agent:{agent}").balance, "x")
    close_days_until(market, date(2026, 2, 15))  # 34 days past due
    standing = agent_standing(db, agent)
    [loan] = standing.loans
    assert (loan.days_past_due, loan.bucket, loan.status) == (34, "M2", "overdue")
    assert (standing.days_past_due, standing.bucket) == (34, "M2")
    assert standing.owed == loan.owed.total > 360_000
    book = funder_portfolio(db, "T1")
    assert book.as_of == date(2026, 2, 14)  # the last closed day: 33 days past due
    by_bucket = {line.bucket: line for line in book.buckets}
    assert [line.bucket for line in book.buckets] == ["M0", "M1", "M2", "M3", "M3+"]
    assert (by_bucket["M2"].loans, by_bucket["M2"].principal) == (1, 360_000)
    assert by_bucket["M0"].loans == by_bucket["M1"].loans == 0
    assert funder_portfolio(db, "T1", date(2026, 1, 20)).buckets[1].loans == 1  # then M1
    assert [p.order_ref for p in past_due_loans(db, "T1")] == [loan.order_ref]
    assert current_business_date(db) == date(2026, 2, 15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_reversing_a_sweep_freezes_the_wallet_again_and_the_next_credit_sweeps(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db = market.db
    agent = lent(market, days=7)  # due 2026-01-12, overdue from 01-13
    handle = f"agent:{agent}"
    wallets.pay_carrier(db, handle, wallets.wallet(db, handle).balance, "spend")
    close_days_until(market, date(2026, 1, 14))
    wallets.credit_from_bank(db, handle, 500_000, "t1")  # sweeps everything owed; unfrozen
    assert owed_now(db, agent) == [] and wallets.wallet(db, handle).freezes == ()
    swept = db.run(
        lambda tx: tx.session.scalar(
            select(func.max(Repayment.id)).where(Repayment.kind == "sweep")
        )
    )
    reverse_repayment(db, swept, "top-up was a bank error")
    after = wallets.wallet(db, handle)
    assert after.balance == 500_000 and after.freezes == ("overdue",)
    [owed] = owed_now(db, agent)
    assert owed.principal == 360_000
    owed_again = owed.total
    wallets.credit_from_bank(db, handle, 1, "t2")  # the next credit sweeps what the wallet holds
    assert owed_now(db, agent) == []
    after = wallets.wallet(db, handle)
    assert after.balance == 500_001 - owed_again and after.freezes == ()
    assert verify(db).ok
