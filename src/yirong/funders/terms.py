"""What an offer or a line costs the borrower, from its product's terms: the same
schedule code as the loans, and the APR (simple and compound) with fees included."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from yirong.funders.tables import FunderProduct
from yirong.money import ppm_of, ppm_to_rate
from yirong.pricing.apr import Apr, schedule_apr
from yirong.pricing.schedule import Method, Schedule, build_schedule

REVOLVING = "revolving"
TERM = "term"
# Order financing (订单融资): each advance is a bullet loan against one purchase order,
# paid to its supplier; the product's method is "revolving" like a line's.
ORDER = "order"
KINDS = (REVOLVING, TERM, ORDER)
# The one-funder-at-a-time rule holds per family: an agent may have one line (revolving
# or term) and one order facility, from different funders.
LINE_FAMILY = "line"
ORDER_FAMILY = "order"
FAMILIES = (LINE_FAMILY, ORDER_FAMILY)


def family_of(kind: str) -> str:
    """The family a product kind belongs to: ``order`` for order financing, else ``line``."""
    return ORDER_FAMILY if kind == ORDER else LINE_FAMILY


def is_bullet(kind: str) -> bool:
    """A revolving line's drawdowns and an order's advances are single bullets."""
    return kind in (REVOLVING, ORDER)


TERM_METHODS = (Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL, Method.INTEREST_ONLY)
# A schedule's dates only place its cash flows; any fixed day gives the same APR.
PRICING_DAY = date(2026, 1, 1)


@dataclass(frozen=True, slots=True)
class Terms:
    """The part of a product that prices a loan (hashable, so prices can be cached)."""

    kind: str
    method: str
    periods: int | None
    day_basis: int
    fee_ppm: int
    min_limit: int
    max_limit: int

    @classmethod
    def of(cls, product: FunderProduct) -> Terms:
        return cls(
            product.kind,
            product.method,
            product.periods,
            product.day_basis,
            product.fee_ppm,
            product.min_limit,
            product.max_limit,
        )

    def sample_amount(self, wanted: int) -> int:
        """The drawdown an offer's price is shown for: the platform's sample amount,
        within what the product allows."""
        return min(max(wanted, self.min_limit), self.max_limit)


def sample_schedule(terms: Terms, amount: int, annual_rate: Decimal, term_days: int) -> Schedule:
    """A drawdown of ``amount``: a bullet at its due date on a revolving line, the
    product's instalments on a term loan. The fee is paid upfront by the borrower."""
    fee = ppm_of(amount, terms.fee_ppm)
    if is_bullet(terms.kind):
        return build_schedule(
            amount,
            annual_rate,
            Method.BULLET,
            PRICING_DAY,
            days=term_days,
            day_basis=terms.day_basis,
            fee=fee,
        )
    return build_schedule(
        amount,
        annual_rate,
        Method(terms.method),
        PRICING_DAY,
        periods=terms.periods or 1,
        day_basis=terms.day_basis,
        fee=fee,
    )


@functools.lru_cache(maxsize=4096)
def apr_of(terms: Terms, amount: int, rate_ppm: int, term_days: int) -> Apr:
    """The APR of a drawdown on these terms (an IRR: worth caching, offers repeat)."""
    return schedule_apr(sample_schedule(terms, amount, ppm_to_rate(rate_ppm), term_days))


def worst_apr(product: FunderProduct) -> Apr:
    """The highest APR the product allows: its top rate, over its shortest and longest
    terms (a fee weighs most on the shortest loan), for its smallest and largest
    drawdowns (fen rounding moves the APR of a small one either way)."""
    terms = Terms.of(product)
    return max(
        (
            apr_of(terms, amount, product.max_rate_ppm, days)
            for amount in {product.min_limit, product.max_limit}
            for days in {product.min_term_days, product.max_term_days}
        ),
        key=lambda apr: apr.higher,
    )


def cost_of(schedule: Schedule) -> int:
    """Everything the borrower pays beyond the principal: interest and fees (fen)."""
    return schedule.total_interest + schedule.fee
