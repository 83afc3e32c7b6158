"""The end of day: one business date at a time, each step once, resumable after a
crash between any two steps (or inside one) without doing anything twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.bank import fund
from tests.credit.market import build_market, consent, lender
from tests.databases import BACKENDS
from tests.loans.story import market_with_line
from yirong.books.service import current_business_date
from yirong.credit.applications import apply_for_credit, approve_application
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.eod import service as eod
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.ledger import service as ledger
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import request_drawdown


def memo_interest(db: Database) -> int:
    return db.run(
        lambda tx: ledger.balance_of(tx, ledger.account_by_code(tx, "loan:T1:interest")).balance
    )


def lend(db: Database, agent: str) -> None:
    order = request_drawdown(db, agent, 360_000, 30, "a")
    fund(db, "T1", order.order_ref, 360_000)


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_day_accrues_its_interest_once_and_the_date_moves_one_day(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db = market.db
    lend(db, market.code(0))  # 360,000 fen at 12% / 360: exactly 120 fen a day
    today = current_business_date(db)
    report = eod.run_eod(db)
    assert report.done["accrue_and_snapshot"]["accrued"] == 120
    assert current_business_date(db) == date.fromordinal(today.toordinal() + 1)
    with pytest.raises(YirongError) as twice:
        eod.run_eod(db, today)
    assert twice.value.code == "eod_already_run"
    with pytest.raises(YirongError) as ahead:
        eod.run_eod(db, date(2027, 1, 1))
    assert ahead.value.code == "eod_date_ahead"
    for _ in range(9):
        eod.run_eod(db)
    assert memo_interest(db) == 1_200
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_days_interest_of_a_fraction_of_a_fen_is_rounded_half_up_on_the_running_total(
    backend: str, tmp_path: Path
) -> None:
    """333,333 fen at 18.25% a year on a 365-day basis earns 333,333 × 0.1825 / 365
    = 333,333 × 0.0005 = 166.6665 fen a day. The books round the total so far half-up
    and charge the difference:
      day 1:   333,333 fen-days -> 166.6665 -> 167 (truncated: 166)
      day 2:   666,666 fen-days -> 333.333  -> 333, so 333 - 167 = 166
      day 3:   999,999 fen-days -> 499.9995 -> 500, so 500 - 333 = 167
    500 fen in three days, where truncating would give 166, 167, 166: 499."""
    _, plain = lender("T1", "0.12", "2")
    product = replace(plain, max_rate=Decimal("0.20"), day_basis=365)
    market = build_market(backend, tmp_path, agents=2, opted_in=2, t1_product=product)
    db, agent = market.db, market.code(0)
    run_preapproval(db)
    offer = next(o for o in compare_offers(db, agent) if o.funder_code == "T1")
    application = apply_for_credit(db, agent, offer.id, market.details(0), consent())
    approve_application(
        db,
        application.id,
        funder_code="T1",
        credit_limit=offer.credit_limit,
        annual_rate=Decimal("0.1825"),
    )
    order = request_drawdown(db, agent, 333_333, 30, "a")
    assert fund(db, "T1", order.order_ref, 333_333) == "matched"
    days = [eod.run_eod(db).done["accrue_and_snapshot"]["accrued"] for _ in range(3)]
    assert days == [167, 166, 167]
    assert memo_interest(db) == 500
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "crash_in",
    [
        "expire",
        "overdue",
        "accrue_and_snapshot",
        "payouts",
        "payment_batches",
        "reconciliation",
        "reconcile",
        "funder_files",
        "advance",
    ],
)
def test_a_run_that_crashed_in_any_step_resumes_and_does_nothing_twice(
    backend: str, crash_in: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = market_with_line(backend, tmp_path)
    db = market.db
    lend(db, market.code(0))
    today = current_business_date(db)
    real = dict(eod.steps())

    def crashing() -> list[tuple[str, Any]]:
        def crash(db: Database, day: date) -> dict[str, Any]:
            raise RuntimeError(f"power cut in {crash_in}")

        return [(name, crash if name == crash_in else step) for name, step in real.items()]

    monkeypatch.setattr(eod, "steps", crashing)
    with pytest.raises(RuntimeError):
        eod.run_eod(db)
    assert current_business_date(db) == today  # the day is not closed
    status = eod.eod_status(db)
    assert crash_in not in status["steps_done"]
    monkeypatch.setattr(eod, "steps", lambda: list(real.items()))
    report = eod.run_eod(db)
    assert crash_in in report.done and set(report.skipped) == set(status["steps_done"])
    assert current_business_date(db) == date.fromordinal(today.toordinal() + 1)
    assert memo_interest(db) == 120  # one day's interest, once
    assert verify(db).ok
