"""Comparing offers: the IRR-based APR with fees included, the cost of a sample
drawdown, cheapest first."""

from __future__ import annotations

from decimal import Decimal

import numpy_financial as npf

from tests.credit.market import Market
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval


def test_offers_are_sorted_cheapest_first_with_their_costs(market: Market) -> None:
    run_preapproval(market.db)
    offers = compare_offers(market.db, market.code(3))
    assert [o.funder_code for o in offers] == ["T1", "T2"]  # 12% before 15%
    assert offers[0].apr < offers[1].apr
    for offer in offers:
        # A bullet drawdown of the sample amount for the offer's term, no fee here.
        expected_interest = (
            Decimal(offer.sample_amount) * offer.annual_rate * offer.term_days / 360
        ).quantize(Decimal(1), "ROUND_HALF_UP")
        assert offer.sample_interest == expected_interest
        assert offer.sample_fee == 0 and offer.sample_cost == offer.sample_interest
        assert offer.sample_amount == min(1_000_000, offer.credit_limit)
        # The APR is the IRR of that drawdown's cash flows, annualised over 360 days.
        daily = npf.irr(
            [-offer.sample_amount]
            + [0] * (offer.term_days - 1)
            + [offer.sample_amount + offer.sample_interest]
        )
        assert abs(float(offer.apr_simple) - daily * 360) < 1e-6
        assert abs(float(offer.apr) - ((1 + daily) ** 360 - 1)) < 1e-6
        assert offer.apr > offer.apr_simple  # compounding


def test_the_funder_is_named_with_its_contact(market: Market) -> None:
    run_preapproval(market.db)
    offer = compare_offers(market.db, market.code(0))[0]
    assert offer.funder_name == "Lender T1" and "T1 desk" in offer.funder_contact
