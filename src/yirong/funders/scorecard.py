"""The built-in way for a funder to decide: a scorecard in a configuration file.

Points for each feature give a score; the best tier whose minimum the score reaches
gives the rate and how many months of income the limit may be. Integer arithmetic
throughout, so the same features always get the same offer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from yirong.errors import YirongError
from yirong.features.service import Features
from yirong.money import rate_to_ppm

FEN_PER_10K_YUAN = 1_000_000
LIMIT_ROUNDING = 10_000  # limits are whole hundreds of yuan


class Points(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    per_10k_yuan_income_12m: int = 0
    per_10pct_trend: int = 0
    per_10pct_volatility: int = 0
    per_year_tenure: int = 0
    per_month_without_income: int = 0


class Tier(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_score: int
    annual_rate: Decimal = Field(gt=0, lt=1)
    limit_months_of_income: Decimal = Field(gt=0, le=24)


class Scorecard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    product: str  # the product code offers are made for
    term_days: int = Field(gt=0)
    min_tenure_months: int = 0
    max_months_without_income: int = Field(default=12, ge=0, le=12)
    max_overdue_days: int = 0
    points: Points = Points()
    tiers: tuple[Tier, ...] = Field(min_length=1)

    @field_validator("tiers")
    @classmethod
    def _best_first(cls, tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
        return tuple(sorted(tiers, key=lambda t: t.min_score, reverse=True))

    def score(self, f: Features) -> int:
        p = self.points
        return (
            p.per_10k_yuan_income_12m * (f.income_12m // FEN_PER_10K_YUAN)
            + p.per_10pct_trend * _tenths(f.trend_ppm)
            + p.per_10pct_volatility * _tenths(f.volatility_ppm)
            + p.per_year_tenure * (f.tenure_months // 12)
            + p.per_month_without_income * f.months_without_income
        )

    def decide(self, f: Features) -> Decision | None:
        """The tier and limit for these features, or None (no offer)."""
        if (
            f.tenure_months < self.min_tenure_months
            or f.months_without_income > self.max_months_without_income
            or f.overdue_days > self.max_overdue_days
            or f.income_3m <= 0
        ):
            return None
        score = self.score(f)
        tier = next((t for t in self.tiers if score >= t.min_score), None)
        if tier is None:
            return None
        # Exact rational arithmetic: a third of an income, times 1.5 months, must not
        # lose a fen to rounding at a hundred-yuan boundary.
        top, bottom = _fraction(tier.limit_months_of_income)
        limit = f.income_3m * top // (3 * bottom) // LIMIT_ROUNDING * LIMIT_ROUNDING
        return Decision(score, tier.annual_rate, limit, self.term_days)


@dataclass(frozen=True, slots=True)
class Decision:
    score: int
    annual_rate: Decimal
    limit: int
    term_days: int


def _tenths(ppm: int | None) -> int:
    """Whole tenths (10%) of a ratio in ppm, toward zero."""
    if ppm is None:
        return 0
    whole = abs(ppm) // 100_000
    return whole if ppm >= 0 else -whole


def parse(text: str) -> Scorecard:
    try:
        return Scorecard.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:
        raise YirongError("scorecard_invalid", reason=str(exc)[:500]) from exc


# ---------------------------------------------------------------- in SQL


@dataclass(frozen=True, slots=True)
class SqlScorecard:
    """The same scorecard as SQL, so a pre-approval run scores every agent in one
    statement: ``score`` and ``eligible`` read a features row aliased ``f``;
    ``rate_ppm`` and ``limit`` read a row aliased ``s`` with columns ``score`` and
    ``income_3m``. :meth:`Scorecard.decide` stays the reference, and tests hold the
    two to the same answers."""

    score: str
    eligible: str
    rate_ppm: str  # NULL when no tier is reached
    limit: str  # fen; NULL when no tier is reached


def _fraction(value: Decimal) -> tuple[int, int]:
    numerator, denominator = value.as_integer_ratio()
    return numerator, denominator


def compile_sql(card: Scorecard) -> SqlScorecard:
    p = card.points
    # Integer division: PostgreSQL and SQLite both truncate toward zero, as _tenths does;
    # the other quantities are never negative, where truncating is flooring.
    score = (
        f"({p.per_10k_yuan_income_12m} * (f.income_12m / {FEN_PER_10K_YUAN})"
        f" + {p.per_10pct_trend} * COALESCE(f.trend_ppm / 100000, 0)"
        f" + {p.per_10pct_volatility} * COALESCE(f.volatility_ppm / 100000, 0)"
        f" + {p.per_year_tenure} * (f.tenure_months / 12)"
        f" + {p.per_month_without_income} * f.months_without_income)"
    )
    eligible = (
        f"(f.tenure_months >= {card.min_tenure_months}"
        f" AND f.months_without_income <= {card.max_months_without_income}"
        f" AND f.overdue_days <= {card.max_overdue_days} AND f.income_3m > 0)"
    )
    rates, limits = [], []
    for tier in card.tiers:  # best first
        top, bottom = _fraction(tier.limit_months_of_income)
        rates.append(f"WHEN s.score >= {tier.min_score} THEN {rate_to_ppm(tier.annual_rate)}")
        limits.append(
            f"WHEN s.score >= {tier.min_score} THEN "
            f"(s.income_3m * {top} / {3 * bottom}) / {LIMIT_ROUNDING} * {LIMIT_ROUNDING}"
        )
    return SqlScorecard(
        score, eligible, f"(CASE {' '.join(rates)} END)", f"(CASE {' '.join(limits)} END)"
    )
