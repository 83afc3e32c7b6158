"""Pre-approval with scorecard funders: who is asked, what is offered, and that a
second run never duplicates a live offer."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from tests.credit.market import TODAY, Market, advance_to
from yirong.credit.consents import opt_in_preapproval, withdraw_consent
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.credit.tables import DataShare, Offer
from yirong.credit.tokens import funder_token


def count(market: Market, query):  # type: ignore[no-untyped-def]
    return market.db.run(lambda tx: tx.conn.scalar(query), readonly=True)


def test_only_agents_who_opted_in_get_offers(market: Market) -> None:
    report = run_preapproval(market.db)
    assert {code: o.agents for code, o in report.funders.items()} == {"T1": 4, "T2": 4}
    assert report.offers_created == 8
    for n in range(4):
        assert {o.funder_code for o in compare_offers(market.db, market.code(n))} == {"T1", "T2"}
    for n in (4, 5):
        assert compare_offers(market.db, market.code(n)) == []


def test_every_sharing_is_logged_pseudonymously(market: Market) -> None:
    report = run_preapproval(market.db)
    shares = market.db.run(
        lambda tx: tx.conn.execute(
            select(
                DataShare.agent_id, DataShare.funder_id, DataShare.identified, DataShare.reference
            )
        ).all()
    )
    assert len(shares) == 8
    assert {s.identified for s in shares} == {False}
    assert {s.reference for s in shares} == {f"preapproval:{report.run_id}"}


def test_tokens_differ_by_funder_and_hide_the_agent() -> None:
    one, other = funder_token("T1", "A000001"), funder_token("T2", "A000001")
    assert one != other and "A000001" not in one + other
    assert funder_token("T1", "A000001") == one  # stable, so a funder can follow an agent


def test_limits_and_rates_follow_each_scorecard(market: Market) -> None:
    run_preapproval(market.db)
    offers = {o.funder_code: o for o in compare_offers(market.db, market.code(2))}
    income = 1_000_000 + 2 * 100_000  # its month of commission, in fen
    # T1 lends 2 months of average monthly income (3 months: one with income) at 12%.
    assert offers["T1"].credit_limit == (income * 2 // 3) // 10_000 * 10_000
    assert offers["T1"].annual_rate == Decimal("0.12")
    assert offers["T2"].credit_limit == (income // 3) // 10_000 * 10_000


def test_a_second_run_keeps_live_offers(market: Market) -> None:
    first = run_preapproval(market.db)
    second = run_preapproval(market.db)
    assert first.offers_created == 8
    assert second.offers_created == 0
    assert {o.kept for o in second.funders.values()} == {4}
    assert count(market, select(func.count()).select_from(Offer)) == 8


def test_expired_offers_are_replaced(market: Market) -> None:
    run_preapproval(market.db)
    advance_to(market.db, TODAY + timedelta(days=15))  # offers are valid 14 days
    assert compare_offers(market.db, market.code(0)) == []
    report = run_preapproval(market.db)
    assert report.offers_expired == 8 and report.offers_created == 8
    assert len(compare_offers(market.db, market.code(0))) == 2
    live = count(market, select(func.count()).select_from(Offer).where(Offer.status == "live"))
    assert live == 8


def test_a_withdrawn_consent_stops_pre_approval(market: Market) -> None:
    consent = opt_in_preapproval(market.db, market.code(0), text_version="2026-01")
    withdraw_consent(market.db, market.code(0), consent.id)
    report = run_preapproval(market.db)
    assert report.funders["T1"].agents == 3
    assert compare_offers(market.db, market.code(0)) == []
