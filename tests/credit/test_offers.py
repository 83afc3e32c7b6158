"""Comparing offers: the APR with fees included, simple and compound, the cost of a
sample drawdown, cheapest first."""

from __future__ import annotations

from decimal import Decimal

from tests.credit.market import Market
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval

# The sample drawdown (10,000 yuan, or the whole limit if that is less) repaid at once
# after the offers' 60 days, no fee, on a 360-day basis; simple = interest / sample ×
# 365 / 60, compound = (1 + interest / sample)^(365/60) − 1, both to the millionth (the
# exponent on a calculator). The old daily IRR × 360 showed 11.88% and 14.82% simple:
# below the contract rates.
BY_HAND = {
    # 8,600 yuan: 860,000 × 0.12 × 60 / 360 = 17,200 fen; 0.02 × 365 / 60 = 0.1216667;
    # 1.02^(365/60) − 1 = 0.1280224.
    "T1": (Decimal("0.12"), 860_000, 17_200, Decimal("0.121667"), Decimal("0.128022")),
    # 4,300 yuan: 430,000 × 0.15 × 60 / 360 = 10,750 fen; 0.025 × 365 / 60 = 0.1520833;
    # 1.025^(365/60) − 1 = 0.1620822.
    "T2": (Decimal("0.15"), 430_000, 10_750, Decimal("0.152083"), Decimal("0.162082")),
}


def test_offers_are_sorted_cheapest_first_with_their_costs(market: Market) -> None:
    run_preapproval(market.db)
    offers = compare_offers(market.db, market.code(3))
    assert [o.funder_code for o in offers] == ["T1", "T2"]  # 12% before 15%
    assert offers[0].apr < offers[1].apr
    for offer in offers:
        rate, sample, interest, simple, compound = BY_HAND[offer.funder_code]
        assert (offer.annual_rate, offer.term_days, offer.credit_limit) == (rate, 60, sample)
        assert offer.sample_amount == sample
        assert (offer.sample_interest, offer.sample_fee, offer.sample_cost) == (
            interest,
            0,
            interest,
        )
        assert (offer.apr_simple, offer.apr) == (simple, compound)
        assert offer.apr_simple > offer.annual_rate  # fee-free: never below the rate


def test_the_funder_is_named_with_its_contact(market: Market) -> None:
    run_preapproval(market.db)
    offer = compare_offers(market.db, market.code(0))[0]
    assert offer.funder_name == "Lender T1" and "T1 desk" in offer.funder_contact
