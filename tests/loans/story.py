"""A market with one agent holding an active line (T1's: 12% a year, 360-day basis,
no grace, penalty 1.5x, revenue share 20%), on 2026-01-05."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.credit.market import Market, build_market, consent
from yirong.books.service import current_business_date
from yirong.credit.applications import apply_for_credit
from yirong.credit.decisions import decide_by_scorecards
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.eod.service import run_eod


def market_with_line(backend: str, tmp_path: Path) -> Market:
    market = build_market(backend, tmp_path, agents=2, opted_in=2)
    db = market.db
    run_preapproval(db)
    offer = next(o for o in compare_offers(db, market.code(0)) if o.funder_code == "T1")
    apply_for_credit(db, market.code(0), offer.id, market.details(0), consent())
    assert decide_by_scorecards(db).approved == 1
    return market


def close_days_until(market: Market, day: date) -> None:
    while current_business_date(market.db) < day:
        run_eod(market.db)
