"""A market with one agent holding an active line (T1's: 12% a year, 360-day basis,
no grace, penalty 1.5x, revenue share 20%), on 2026-01-05; or with several agents
holding one each."""

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
    open_lines(market, 1)
    return market


def market_with_lines(backend: str, tmp_path: Path, agents: int) -> Market:
    """``agents`` agents, each with an active line from T1 (limits from 660,000 fen
    up), their wallets holding November's commissions (1,000,000 fen, 100,000 more
    for each next agent)."""
    market = build_market(backend, tmp_path, agents=agents, opted_in=agents)
    open_lines(market, agents)
    return market


def open_lines(market: Market, count: int) -> None:
    """The first ``count`` agents apply for T1's offer and are approved."""
    db = market.db
    run_preapproval(db)
    for n in range(count):
        offer = next(o for o in compare_offers(db, market.code(n)) if o.funder_code == "T1")
        apply_for_credit(db, market.code(n), offer.id, market.details(n), consent())
    assert decide_by_scorecards(db).approved == count


def close_days_until(market: Market, day: date) -> None:
    while current_business_date(market.db) < day:
        run_eod(market.db)
