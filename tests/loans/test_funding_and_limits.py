"""Drawdown orders against the line's limit; repaying within what is owed; closing a
line only without debt. (How the funder's money is matched to an order:
``tests/reconciliation``.)"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.bank import fund
from tests.credit.market import advance_to, build_market, consent
from tests.databases import BACKENDS
from tests.loans.story import close_days_until, market_with_line
from yirong.books.service import current_business_date
from yirong.credit.applications import (
    apply_for_credit,
    approve_application,
    current_credit,
)
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.eod.service import run_eod
from yirong.errors import YirongError
from yirong.ledger import service as ledger
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import cancel_drawdown, drawdowns_of, request_drawdown
from yirong.loans.funding import fund_order_in, order_by_reference
from yirong.loans.lines import close_line
from yirong.loans.repayments import repay
from yirong.wallets import service as wallets


def refused(call, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(YirongError) as caught:
        call(*args, **kwargs)
    return caught.value.code


def suspense(db) -> int:  # type: ignore[no-untyped-def]
    return db.run(
        lambda tx: ledger.balance_of(tx, ledger.account_by_code(tx, "platform:suspense")).balance
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_drawdowns_stay_within_the_line_and_bad_requests_change_nothing(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    _, line = current_credit(db, agent)
    assert line is not None
    limit = line.credit_limit
    held = request_drawdown(db, agent, limit - 1_000, 30, "big")
    assert refused(request_drawdown, db, agent, 1_001, 30, "more") == "exceeds_available_limit"
    assert refused(request_drawdown, db, agent, 1_000, 3, "short-term") == "term_invalid"
    assert refused(request_drawdown, db, agent, 1_000, 181, "long-term") == "term_invalid"
    assert refused(request_drawdown, db, agent, 0, 30, "zero") == "amount_zero"
    assert refused(request_drawdown, db, agent, limit - 1, 30, "big") == (
        "exists_with_different_amount"
    )
    assert refused(request_drawdown, db, agent, limit - 1_000, 60, "big") == (
        "exists_with_different_term"
    )
    assert refused(request_drawdown, db, market.code(1), 1_000, 30, "no-line") == (
        "line_not_active"
    )
    assert refused(repay, db, agent, None, "r0") == "nothing_owed"
    cancel_drawdown(db, agent, held.id)  # the agent changes its mind: the limit is free
    assert request_drawdown(db, agent, limit, 30, "all").status == "requested"
    assert [d.status for d in drawdowns_of(db, agent)] == ["cancelled", "requested"]
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_repaying_more_than_owed_or_without_the_money_moves_nothing(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    order = request_drawdown(db, agent, 300_000, 30, "a")
    fund(db, "T1", order.order_ref, 300_000)
    close_days_until(market, current_business_date(db).replace(day=15))
    wallet = wallets.wallet(db, f"agent:{agent}")
    assert refused(repay, db, agent, 10**9, "too-much") == "exceeds_owed"
    wallets.pay_carrier(db, f"agent:{agent}", wallet.balance - 1_000, "spend")
    assert refused(repay, db, agent, 2_000, "no-money") == "exceeds_credits"
    assert wallets.wallet(db, f"agent:{agent}").balance == 1_000
    done = repay(db, agent, 1_000, "some")
    assert (done.penalty, done.interest, done.principal) == (0, 1_000, 0)  # 10 days: 1,000
    assert repay(db, agent, 1_000, "some").outcome == "exists"
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_line_closes_only_when_nothing_is_owed_on_it(backend: str, tmp_path: Path) -> None:
    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    _, line = current_credit(db, agent)
    assert line is not None
    order = request_drawdown(db, agent, 100_000, 30, "a")
    assert refused(close_line, db, line.id, reason="switch") == "line_has_debt"  # an order
    fund(db, "T1", order.order_ref, 100_000)
    close_days_until(market, current_business_date(db).replace(day=9))
    assert refused(close_line, db, line.id, reason="switch") == "line_has_debt"  # a loan
    repay(db, agent, None, "all")
    assert close_line(db, line.id, reason="switch").status == "closed"


@pytest.mark.parametrize("backend", BACKENDS)
def test_money_that_does_not_agree_with_its_order_lends_nothing(
    backend: str, tmp_path: Path
) -> None:
    """The bank's money for an order comes from the order's funder, for its whole
    amount; otherwise ``funding_differs`` names what differs and nothing is lent."""
    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    order = request_drawdown(db, agent, 100_000, 30, "a")  # T1's line

    def funding(funder: str, amount: int) -> None:
        def run(tx):  # type: ignore[no-untyped-def]
            drawdown = order_by_reference(tx, order.order_ref)
            sources = {"platform:reserve": amount}
            fund_order_in(tx, drawdown, funder, key=f"bank:{funder}:{amount}", sources=sources)

        db.run(run)

    for funder, amount, field in (
        ("T2", 100_000, "funder"),  # T2 paid an order T1 took
        ("T1", 99_999, "amount"),
        ("T1", 100_001, "amount"),
    ):
        with pytest.raises(YirongError) as caught:
            funding(funder, amount)
        assert (caught.value.code, caught.value.details["field"]) == ("funding_differs", field)
    assert [d.status for d in drawdowns_of(db, agent)] == ["requested"]
    funding("T1", 100_000)
    assert [d.status for d in drawdowns_of(db, agent)] == ["credited"]
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_line_past_its_validity_lends_no_more(backend: str, tmp_path: Path) -> None:
    market = build_market(backend, tmp_path, agents=2, opted_in=2)
    db, agent = market.db, market.code(0)
    run_preapproval(db)
    offer = next(o for o in compare_offers(db, agent) if o.funder_code == "T1")
    application = apply_for_credit(db, agent, offer.id, market.details(0), consent())
    line = approve_application(
        db,
        application.id,
        funder_code="T1",
        credit_limit=offer.credit_limit,
        annual_rate=offer.annual_rate,
        valid_days=1,
    )
    assert line.valid_until == date(2026, 1, 6)  # opened 2026-01-05, valid one day
    advance_to(db, date(2026, 1, 6))  # its last day: it still lends
    cancel_drawdown(db, agent, request_drawdown(db, agent, 100_000, 30, "last-day").id)
    advance_to(db, date(2026, 1, 7))
    _, still = current_credit(db, agent)
    assert still is not None and still.status == "active"  # only its date says no
    assert refused(request_drawdown, db, agent, 100_000, 30, "too-late") == "line_expired"


@pytest.mark.parametrize("backend", BACKENDS)
def test_money_for_a_wallet_that_cannot_take_it_goes_back_with_the_funders_payout(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    handle = f"agent:{agent}"
    order = request_drawdown(db, agent, 300_000, 30, "a")
    # The agent empties and closes its wallet while the order waits for the money.
    wallets.pay_carrier(db, handle, wallets.wallet(db, handle).balance, "spend")
    wallets.close_wallet(db, handle, note="leaving the carrier")
    fund(db, "T1", order.order_ref, 300_000)
    [waiting] = drawdowns_of(db, agent)
    assert waiting.status == "funded"  # matched: the money is the funder's, waiting
    funder = wallets.wallet(db, "funder:T1")
    assert funder.available == 300_000
    report = run_eod(db)
    assert report.done["payouts"] == {"funders": {"T1": 300_000}, "returned": 1}
    [gone] = drawdowns_of(db, agent)
    assert gone.status == "returned"
    # Nothing is owed on the line any longer: it may close.
    _, line = current_credit(db, agent)
    assert line is not None
    assert close_line(db, line.id, reason="the agent left").status == "closed"
    assert verify(db).ok
