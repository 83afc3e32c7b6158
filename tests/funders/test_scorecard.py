"""The built-in scorecard: pure, integer, the same features always the same offer."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yirong.demo.funders import BROAD, CAREFUL, GROWTH
from yirong.errors import YirongError
from yirong.features.service import Features
from yirong.funders.scorecard import Scorecard, parse

DEMO = [parse(json.dumps(card)) for card in (CAREFUL, BROAD, GROWTH)]

GOOD = Features(
    income_3m=3_000_000,  # 30,000 yuan in three months
    income_6m=5_400_000,
    income_12m=10_000_000,
    prepay_12m=2_000_000,
    months_without_income=0,
    trend_ppm=250_000,
    volatility_ppm=150_000,
    tenure_months=36,
    overdue_days=0,
)


def card(**overrides: Any) -> Scorecard:
    spec: dict[str, Any] = {
        "product": "LINE",
        "term_days": 90,
        "points": {},
        "tiers": [{"min_score": 0, "annual_rate": "0.12", "limit_months_of_income": "2"}],
    }
    spec.update(overrides)
    return parse(json.dumps(spec))


@st.composite
def features(draw: st.DrawFn) -> Features:
    income_3m = draw(st.integers(min_value=0, max_value=300_000_000))
    income_6m = income_3m + draw(st.integers(min_value=0, max_value=300_000_000))
    income_12m = income_6m + draw(st.integers(min_value=0, max_value=600_000_000))
    return Features(
        income_3m=income_3m,
        income_6m=income_6m,
        income_12m=income_12m,
        prepay_12m=draw(st.integers(min_value=0, max_value=10**9)),
        months_without_income=draw(st.integers(min_value=0, max_value=12)),
        trend_ppm=draw(st.none() | st.integers(min_value=-1_000_000, max_value=10**8)),
        volatility_ppm=draw(st.none() | st.integers(min_value=0, max_value=1_833_333)),
        tenure_months=draw(st.integers(min_value=0, max_value=240)),
        overdue_days=draw(st.integers(min_value=0, max_value=3)),
    )


def exact_limit(income_3m: int, months: Fraction) -> int:
    """A month's income (a third of the last three months) times the tier's months,
    rounded down to whole hundreds of yuan, in exact arithmetic."""
    return int(Fraction(income_3m, 3) * months) // 10_000 * 10_000


# ---------------------------------------------------------------- income


@settings(max_examples=300, deadline=None)
@given(
    scorecard=st.sampled_from(DEMO),
    base=features(),
    more_3m=st.integers(min_value=0, max_value=300_000_000),
    more_12m=st.integers(min_value=0, max_value=600_000_000),
)
def test_more_income_never_gets_a_smaller_offer_within_a_tier(
    scorecard: Scorecard, base: Features, more_3m: int, more_12m: int
) -> None:
    richer = replace(
        base,
        income_3m=base.income_3m + more_3m,
        income_6m=base.income_6m + more_3m,
        income_12m=base.income_12m + more_3m + more_12m,
    )
    assert scorecard.score(base) <= scorecard.score(richer)
    before, after = scorecard.decide(base), scorecard.decide(richer)
    if before is None:
        return
    assert after is not None  # more income never loses an offer
    assert after.score >= before.score
    if after.annual_rate == before.annual_rate:  # the same tier
        assert after.limit >= before.limit


@settings(max_examples=300, deadline=None, derandomize=True)
@given(scorecard=st.sampled_from(DEMO), f=features())
def test_a_limit_is_the_income_times_the_tiers_months_in_whole_hundreds_of_yuan(
    scorecard: Scorecard, f: Features
) -> None:
    decision = scorecard.decide(f)
    if decision is None:
        return
    tier = next(t for t in scorecard.tiers if t.annual_rate == decision.annual_rate)
    assert decision.limit % 10_000 == 0
    assert decision.limit == exact_limit(f.income_3m, Fraction(tier.limit_months_of_income))


def test_three_months_of_income_is_the_whole_three_months() -> None:
    """10,000 yuan in the last three months, a tier lending three months of income:
    the limit is 10,000 yuan, a whole number of hundreds, with nothing to round off."""
    three_months = card(
        tiers=[{"min_score": 0, "annual_rate": "0.12", "limit_months_of_income": "3"}]
    )
    decision = three_months.decide(replace(GOOD, income_3m=1_000_000))
    assert decision is not None
    assert decision.limit == 1_000_000


def test_a_limit_is_rounded_down_to_whole_hundreds_of_yuan() -> None:
    twice = card()  # two months of income
    decision = twice.decide(replace(GOOD, income_3m=1_234_567))  # 4,115.22 yuan a month
    assert decision is not None
    assert decision.limit == 820_000  # 8,230.45 yuan, down to 8,200


# ---------------------------------------------------------------- hard limits


def test_each_hard_limit_refuses_an_offer() -> None:
    strict = card(min_tenure_months=12, max_months_without_income=2, max_overdue_days=3)
    assert strict.decide(GOOD) is not None
    for change in (
        {"tenure_months": 11},
        {"months_without_income": 3},
        {"overdue_days": 4},
        {"income_3m": 0},
    ):
        assert strict.decide(replace(GOOD, **change)) is None, change
    at_the_limits = replace(GOOD, tenure_months=12, months_without_income=2, overdue_days=3)
    assert strict.decide(at_the_limits) is not None


def test_by_default_any_overdue_day_refuses_an_offer() -> None:
    assert card().decide(replace(GOOD, overdue_days=1)) is None


def test_a_score_below_every_tier_gets_no_offer() -> None:
    high_bar = card(tiers=[{"min_score": 1, "annual_rate": "0.1", "limit_months_of_income": "1"}])
    assert high_bar.decide(GOOD) is None  # no points at all: score 0


# ---------------------------------------------------------------- tiers

TIERS = [
    {"min_score": 10, "annual_rate": "0.16", "limit_months_of_income": "1"},
    {"min_score": 40, "annual_rate": "0.10", "limit_months_of_income": "3"},
    {"min_score": 25, "annual_rate": "0.13", "limit_months_of_income": "2"},
]


@pytest.mark.parametrize(
    "order", [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
)
def test_the_best_tier_reached_applies_whatever_the_order_in_the_file(order: list[int]) -> None:
    scored = card(points={"per_year_tenure": 1}, tiers=[TIERS[i] for i in order])
    for years in range(60):
        f = replace(GOOD, tenure_months=12 * years)
        reached = [t for t in TIERS if years >= t["min_score"]]
        decision = scored.decide(f)
        if not reached:
            assert decision is None, years
            continue
        best = max(reached, key=lambda t: t["min_score"])
        assert decision is not None
        assert (decision.score, str(decision.annual_rate)) == (years, best["annual_rate"])


# ---------------------------------------------------------------- integer points


@pytest.mark.parametrize(
    ("ppm", "tenths"),
    [
        (None, 0),
        (0, 0),
        (99_999, 0),
        (100_000, 1),
        (199_999, 1),
        (-99_999, 0),  # toward zero, not down to -1
        (-100_000, -1),
        (-150_000, -1),  # toward zero, not down to -2
        (-1_000_000, -10),
    ],
)
def test_trend_and_volatility_count_in_whole_tenths_toward_zero(
    ppm: int | None, tenths: int
) -> None:
    trend = card(points={"per_10pct_trend": 7})
    assert trend.score(replace(GOOD, trend_ppm=ppm)) == 7 * tenths
    if ppm is None or ppm >= 0:
        volatility = card(points={"per_10pct_volatility": -3})
        assert volatility.score(replace(GOOD, volatility_ppm=ppm)) == -3 * tenths


def test_income_and_tenure_count_in_whole_units() -> None:
    scored = card(
        points={
            "per_10k_yuan_income_12m": 5,
            "per_year_tenure": 2,
            "per_month_without_income": -4,
        }
    )
    f = replace(GOOD, income_12m=2_999_999, tenure_months=35, months_without_income=3)
    assert scored.score(f) == 5 * 2 + 2 * 2 - 4 * 3  # 29,999.99 yuan, 2 years 11 months


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        "null",
        json.dumps({**CAREFUL, "tiers": []}),
        json.dumps({k: v for k, v in CAREFUL.items() if k != "tiers"}),
        json.dumps({k: v for k, v in CAREFUL.items() if k != "product"}),
        json.dumps({**CAREFUL, "bonus": 1}),
        json.dumps({**CAREFUL, "points": {"per_smile": 1}}),
        json.dumps({**CAREFUL, "term_days": 0}),
        json.dumps({**CAREFUL, "max_months_without_income": 13}),
        json.dumps({**CAREFUL, "tiers": [{"min_score": 0, "annual_rate": "0"}]}),
        json.dumps(
            {
                **CAREFUL,
                "tiers": [{"min_score": 0, "annual_rate": "1", "limit_months_of_income": "1"}],
            }
        ),
        json.dumps(
            {
                **CAREFUL,
                "tiers": [{"min_score": 0, "annual_rate": "0.1", "limit_months_of_income": "25"}],
            }
        ),
        json.dumps(
            {
                **CAREFUL,
                "tiers": [
                    {
                        "min_score": 0,
                        "annual_rate": "0.1",
                        "limit_months_of_income": "2",
                        "fee": "0.01",
                    }
                ],
            }
        ),
    ],
)
def test_a_bad_scorecard_is_refused(text: str) -> None:
    with pytest.raises(YirongError) as refused:
        parse(text)
    assert refused.value.code == "scorecard_invalid"


def test_the_demo_scorecards_parse_with_their_tiers_best_first() -> None:
    for scorecard in DEMO:
        scores = [t.min_score for t in scorecard.tiers]
        assert scores == sorted(scores, reverse=True)
