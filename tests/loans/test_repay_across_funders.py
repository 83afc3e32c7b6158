"""Repayment across funders: an agent with T1's line (12% a year, penalty 18%,
revenue share 20%) and O1's order facility (9% a year, penalty 13.5%, revenue share
10%; both on a 360-day basis, no grace). Its money goes to its debts in the
operator's ``debt_priority``: the oldest first, or one product family's first; each
run of one funder's debts takes what it owes, as a repayment of its own to that
funder (its postings, its notice, its share). Every figure below is worked out by
hand from those rates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.bank import fund
from tests.credit.market import (
    Market,
    build_market,
    consent,
    order_lender,
)
from tests.databases import BACKENDS
from tests.loans.story import close_days_until
from yirong.agents.service import agent_row
from yirong.books.service import current_business_date
from yirong.credit.applications import apply_for_credit
from yirong.credit.decisions import decide_by_scorecards
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.eod.service import run_eod
from yirong.errors import YirongError
from yirong.funders.service import FunderInput, ProductInput, add_product, register_funder
from yirong.funders.tables import Funder, FunderProduct
from yirong.infra.db import Database
from yirong.ledger.tables import LedgerEntry
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import active_facility, drawdowns_of, new_drawdown_in, request_drawdown
from yirong.loans.funding import lend_paid_out_in
from yirong.loans.queries import preview_repayment
from yirong.loans.repayments import owed_now, repay
from yirong.loans.reversals import reverse_repayment
from yirong.loans.tables import Repayment
from yirong.policy.service import set_setting
from yirong.pricing.schedule import Method
from yirong.wallets import service as wallets


def order_financier() -> tuple[FunderInput, ProductInput]:
    """O1: 9% a year, a 10% revenue share."""
    return order_lender("O1", "0.09", share="0.1", term_days=30)


def two_funders(backend: str, tmp_path: Path) -> Market:
    """Agent 0 holds T1's line and O1's order facility, on 2026-01-05; its wallet
    holds November's commissions, 1,000,000 fen."""
    market = build_market(backend, tmp_path, agents=2, opted_in=2)
    db, agent = market.db, market.code(0)
    financier, product = order_financier()
    register_funder(db, financier)
    add_product(db, "O1", product)
    run_preapproval(db)
    for funder_code in ("T1", "O1"):
        offer = next(o for o in compare_offers(db, agent) if o.funder_code == funder_code)
        apply_for_credit(db, agent, offer.id, market.details(0), consent())
    assert decide_by_scorecards(db).approved == 2
    return market


def advance(db: Database, agent: str, amount: int, term_days: int, key: str) -> int:
    """An advance on the agent's order facility, lent today: ordered on the facility's
    terms, its money matched into escrow, and the supplier's payout shown by the bank
    (what order financing does for an order; the order itself is not under test)."""

    def order(tx):  # type: ignore[no-untyped-def]
        facility = active_facility(tx, agent_row(tx, agent).id, lock=True)
        assert facility is not None
        product = tx.session.get(FunderProduct, facility.product_id)
        d = new_drawdown_in(
            tx, facility, product, amount, term_days, key, fee=0, method=Method.BULLET
        )
        return d.id, d.order_ref

    drawdown_id, reference = db.run(order)
    assert fund(db, "O1", reference, amount) == "matched"
    db.run(lambda tx: lend_paid_out_in(tx, drawdown_id))
    return int(drawdown_id)


def line_drawdown(db: Database, agent: str, amount: int, term_days: int, key: str) -> int:
    order = request_drawdown(db, agent, amount, term_days, key)
    assert fund(db, "T1", order.order_ref, amount) == "matched"
    return order.id


def prioritise(db: Database, priority: str) -> None:
    set_setting(
        db, "debt_priority", priority, effective_from=current_business_date(db), set_by="ops"
    )


def balance(db: Database, handle: str) -> int:
    return wallets.wallet(db, handle).balance


def repayments(db: Database) -> list[tuple[str, str, str, int, int, int, int, int]]:
    """(funder, key, kind, amount, penalty, interest, principal, share) of each."""
    return [
        tuple(row)  # type: ignore[misc]
        for row in db.run(
            lambda tx: tx.conn.execute(
                select(
                    Funder.code,
                    Repayment.request_key,
                    Repayment.kind,
                    Repayment.amount,
                    Repayment.penalty,
                    Repayment.interest,
                    Repayment.principal,
                    Repayment.share,
                )
                .join(Funder, Funder.id == Repayment.funder_id)
                .order_by(Repayment.id)
            ).all()
        )
    ]


def entries(db: Database) -> int:
    return int(db.run(lambda tx: tx.conn.scalar(select(func.count()).select_from(LedgerEntry))))


# 500,000 fen repaid on 2026-01-10, to three bullets, none overdue:
#   A1: O1's 400,000, lent 01-05: 5 days at 9%: 400,000 × 0.09 × 5 / 360 = 500
#   L:  T1's 360,000, lent 01-06: 4 days at 12%: 360,000 × 0.12 × 4 / 360 = 480
#   A2: O1's 200,000, lent 01-07: 3 days at 9%: 200,000 × 0.09 × 3 / 360 = 150
# Each run of one funder's debts takes what it owes, penalty, interest, principal
# over its drawdowns oldest first; the last takes what is left. The share is 20% of
# T1's interest, 10% of O1's.
#   (funder, amount, penalty, interest, principal, share); then each loan's principal.
A1, L, A2 = "A1", "L", "A2"
SPLITS = {
    # A1 | L | A2: A1 owes 400,500 (all paid), L takes the 99,500 left: 480 + 99,020.
    "oldest_first": (
        [A1, L, A2],
        [("O1", 400_500, 0, 500, 400_000, 50), ("T1", 99_500, 0, 480, 99_020, 96)],
        {A1: 0, L: 260_980, A2: 200_000},
    ),
    # L | A1 A2: L owes 360,480 (all paid); O1 takes 139,520: interest 500 + 150,
    # then A1's principal 138,870.
    "line_first": (
        [L, A1, A2],
        [("T1", 360_480, 0, 480, 360_000, 96), ("O1", 139_520, 0, 650, 138_870, 65)],
        {A1: 261_130, L: 0, A2: 200_000},
    ),
    # A1 A2 | L: O1's two owe 600,650, more than the 500,000: all of it goes to O1,
    # interest 650, then A1's 400,000 and A2's 99,350.
    "order_first": (
        [A1, A2, L],
        [("O1", 500_000, 0, 650, 499_350, 65)],
        {A1: 0, L: 360_000, A2: 100_650},
    ),
}


@pytest.mark.parametrize("priority", sorted(SPLITS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_repayment_is_split_over_the_funders_in_the_operators_order(
    backend: str, tmp_path: Path, priority: str
) -> None:
    market = two_funders(backend, tmp_path)
    db, agent = market.db, market.code(0)
    loans = {A1: advance(db, agent, 400_000, 30, "a1")}
    run_eod(db)
    loans[L] = line_drawdown(db, agent, 360_000, 30, "l")
    run_eod(db)
    loans[A2] = advance(db, agent, 200_000, 30, "a2")
    close_days_until(market, date(2026, 1, 10))
    prioritise(db, priority)
    order, parts, principal_left = SPLITS[priority]

    # What is owed is listed, and previewed, in the order the money will pay it.
    assert [o.drawdown_id for o in owed_now(db, agent)] == [loans[n] for n in order]
    preview = preview_repayment(db, agent, 500_000)
    assert (preview.interest, preview.principal) == (
        sum(p[3] for p in parts),
        sum(p[4] for p in parts),
    )
    before = {h: balance(db, h) for h in (f"agent:{agent}", "funder:T1", "funder:O1")}

    made = repay(db, agent, 500_000, "pay-1")

    assert (made.outcome, made.kind, made.amount) == ("created", "asked", 500_000)
    assert (made.penalty, made.interest, made.principal, made.share) == (
        sum(p[2] for p in parts),
        sum(p[3] for p in parts),
        sum(p[4] for p in parts),
        sum(p[5] for p in parts),
    )
    # One repayment for each funder's run: the first under the request's key.
    keys = ["pay-1", "pay-1 #2", "pay-1 #3"][: len(parts)]
    assert repayments(db) == [
        (funder, key, "asked", *figures)
        for (funder, *figures), key in zip(parts, keys, strict=True)
    ]
    # Each funder's payment account received its part, from the agent's wallet.
    received = {code: sum(p[1] for p in parts if p[0] == code) for code in ("T1", "O1")}
    assert balance(db, "funder:T1") - before["funder:T1"] == received["T1"]
    assert balance(db, "funder:O1") - before["funder:O1"] == received["O1"]
    assert before[f"agent:{agent}"] - balance(db, f"agent:{agent}") == 500_000
    left = {d.id: d.principal for d in drawdowns_of(db, agent)}
    assert {name: left[loans[name]] for name in loans} == principal_left

    # Asked again: the same answer, nothing moved, nothing recorded twice.
    moved = (entries(db), {h: balance(db, h) for h in before})
    again = repay(db, agent, 500_000, "pay-1")
    assert again == replace(made, outcome="exists")
    assert repay(db, agent, None, "pay-1").outcome == "exists"
    with pytest.raises(YirongError) as refused:
        repay(db, agent, 400_000, "pay-1")
    assert refused.value.code == "exists_with_different_amount"
    assert (entries(db), {h: balance(db, h) for h in before}) == moved
    assert len(repayments(db)) == len(parts)

    # A part is a repayment of its own: an operator reverses the last one alone (its
    # postings found under the part's own keys), and its funder gives the money back.
    last = db.run(lambda tx: tx.conn.scalar(select(func.max(Repayment.id))))
    funder, amount = parts[-1][0], parts[-1][1]
    held = balance(db, f"funder:{funder}")
    assert reverse_repayment(db, last, "paid to the wrong loan").amount == amount
    assert held - balance(db, f"funder:{funder}") == amount
    assert balance(db, f"agent:{agent}") == moved[1][f"agent:{agent}"] + amount
    assert verify(db).ok


# On 2026-01-15 both 7-day loans of 2026-01-05 are two days overdue (due 01-12,
# penalty from 01-13), the wallet frozen and empty; 500,000 fen arrive.
#   L: T1's 360,000: 8 days' interest at 12%: 960; 2 days' penalty at 18%: 360.
#      Owes 361,320.
#   A: O1's 400,000: 8 days' interest at 9%: 800; 2 days' penalty at 13.5%: 300.
#      Owes 401,100.
SWEEPS = {
    # A first, in full; L takes the 98,900 left: penalty 360, interest 960, 97,580.
    "order_first": [("O1", 401_100, 300, 800, 400_000, 110), ("T1", 98_900, 360, 960, 97_580, 264)],
    # L first, in full; A takes the 138,680 left: penalty 300, interest 800, 137,580.
    "line_first": [
        ("T1", 361_320, 360, 960, 360_000, 264),
        ("O1", 138_680, 300, 800, 137_580, 110),
    ],
}


@pytest.mark.parametrize("priority", sorted(SWEEPS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sweep_pays_the_overdue_debts_in_the_operators_order(
    backend: str, tmp_path: Path, priority: str
) -> None:
    market = two_funders(backend, tmp_path)
    db, agent = market.db, market.code(0)
    handle = f"agent:{agent}"
    line_drawdown(db, agent, 360_000, 7, "l")
    advance(db, agent, 400_000, 7, "a")
    wallets.pay_carrier(db, handle, balance(db, handle), "spend")
    close_days_until(market, date(2026, 1, 15))
    assert {d.status for d in drawdowns_of(db, agent)} == {"overdue"}
    assert "overdue" in wallets.wallet(db, handle).freezes
    prioritise(db, priority)
    before = {code: balance(db, f"funder:{code}") for code in ("T1", "O1")}

    wallets.credit_from_bank(db, handle, 500_000, "t1")

    parts = SWEEPS[priority]
    assert repayments(db) == [
        (funder, key, "sweep", *figures)
        for (funder, *figures), key in zip(parts, ["sweep:1", "sweep:1 #2"], strict=True)
    ]
    for funder, amount, *_ in parts:
        assert balance(db, f"funder:{funder}") - before[funder] == amount
    assert balance(db, handle) == 0
    assert "overdue" in wallets.wallet(db, handle).freezes  # the second is overdue still

    # The next credit sweeps what is left (262,420 of principal either way: the two
    # owed 762,420), as the agent's second sweep.
    wallets.credit_from_bank(db, handle, 1_000_000, "t2")
    *_, (funder, key, kind, amount, penalty, interest, principal, _share) = repayments(db)
    assert (funder, key, kind) == (parts[1][0], "sweep:2", "sweep")
    assert (amount, penalty, interest, principal) == (262_420, 0, 0, 262_420)
    assert owed_now(db, agent) == []
    assert wallets.wallet(db, handle).freezes == ()
    assert balance(db, handle) == 1_000_000 - 262_420
    assert verify(db).ok


def test_the_priority_is_one_of_three(tmp_path: Path) -> None:
    market = build_market("sqlite", tmp_path, agents=1, opted_in=1)
    for value in ("newest_first", "", "LINE_FIRST"):
        with pytest.raises(YirongError) as refused:
            prioritise(market.db, value)
        assert refused.value.code == "setting_invalid"
    prioritise(market.db, "order_first")
    market.db.dispose()
