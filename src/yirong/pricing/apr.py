"""年化利率 as PBoC Announcement 〔2021〕 No. 3 asks and as the market reads it: what the
borrower pays beyond what they actually received (interest and fees), per period, as a
share of what they received; then annualised two ways, side by side:

* 单利 (simple): the rate per period × the periods in a 365-day year;
* 复利 (compound, effective annual): (1 + the rate per period)^(periods a year) − 1.

The period is the loan's own: a month for monthly instalments (the IRR per month,
12 a year), the whole term for a single repayment (365 / days a year). A daily-interest
drawdown repaid at once is a single repayment, so its simple APR is the day rate × 365
(日利率 0.05% → 年化 18.25% 单利). The year is always 365 days, whatever the day basis
the interest is charged on: a loan at 10.80% a year on a 360-day basis costs 0.03% a
day, 10.95% simple. So a fee-free loan's simple APR is never below its contract rate
(but for the fen its interest is rounded to).

Cash flows are the lender's: period 0 is ``-(principal - fee)``, then each repayment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_UP, Context, Decimal, localcontext
from fractions import Fraction
from itertools import pairwise

from yirong.pricing.schedule import MONTHS_PER_YEAR, Method, Schedule

# The year a simple APR counts periods in; not the day basis interest is charged on.
DAYS_PER_YEAR = 365
# Far more digits than any answer needs, so that 360 periods of rounding in the
# evaluation stay many orders of magnitude below the convergence tolerance.
_CONTEXT = Context(prec=60, Emax=MAX_EMAX, Emin=MIN_EMIN)
_TOLERANCE = Decimal("1e-40")
_MAX_STEPS = 500
# The root is bracketed at x = 1/(1+r) = 2^±j: rates up to 2^64 per period, and down
# to within 2^-64 of −100%, which is past anything a loan can have.
_MAX_DOUBLINGS = 64
_FOUR_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Apr:
    """The cost per period and its two annualisations: 单利 (simple) and 复利 (compound)."""

    period_rate: Decimal  # cost per period / what the borrower received (an IRR)
    periods_per_year: Fraction  # 12 for monthly instalments, 365/days for a single repayment
    simple: Decimal  # period_rate × periods_per_year
    compound: Decimal  # (1 + period_rate)^periods_per_year − 1

    @property
    def higher(self) -> Decimal:
        """The higher of the two, which the legal cap applies to. At a positive rate that
        is the compound one, but for a single repayment after more than a year."""
        return max(self.simple, self.compound)


def instalment_apr(received: int, instalments: Sequence[int]) -> Apr:
    """Monthly instalments (等额本息, 等额本金, 先息后本): the IRR per month, 12 a year."""
    return annualise(irr([-received, *instalments]), MONTHS_PER_YEAR)


def single_repayment_apr(received: int, repaid: int, days: int) -> Apr:
    """一次性还本付息, and a drawdown on a daily-interest line: the cost over the loan's
    own term, (repaid − received) / received, and as many such terms a year as there
    are ``days`` in 365."""
    if received <= 0 or repaid <= 0 or days < 1:
        raise ValueError(f"not a loan: {received!r} received, {repaid!r} repaid, {days!r} days")
    return annualise(Fraction(repaid - received, received), Fraction(DAYS_PER_YEAR, days))


def schedule_apr(schedule: Schedule) -> Apr:
    """A schedule's APR, fees included, by its method: a bullet is one repayment, the
    others are monthly instalments."""
    received = schedule.principal - schedule.fee
    if schedule.method is Method.BULLET:
        [row] = schedule.installments
        return single_repayment_apr(received, row.total, (row.due_date - schedule.start).days)
    return instalment_apr(received, [row.total for row in schedule.installments])


def annualise(period_rate: Decimal | Fraction, periods_per_year: int | Fraction) -> Apr:
    """单利 r·m and 复利 (1+r)^m − 1 of a rate r per period, m periods a year."""
    r, m = Fraction(period_rate), Fraction(periods_per_year)
    # r·m exactly, then rounded once: a simple APR at the contract rate never comes out
    # a hair below it (0.045 × 365 / 90 is 0.1825, not 0.18249…).
    simple = _to_decimal(r * m)
    with localcontext(_CONTEXT):
        compound = _to_decimal(1 + r) ** _to_decimal(m) - 1
    return Apr(_to_decimal(r), m, simple, compound)


def irr(cash_flows: Sequence[int | Decimal]) -> Decimal:
    """The rate r per period with Σ CF_k / (1+r)^k = 0, CF_0 being at time 0.

    The flows must change sign exactly once (a loan: out, then back in), so that the
    rate is unique; anything else is refused with ValueError."""
    return _solve(list(enumerate(cash_flows)))


def apr_string(value: Decimal) -> str:
    """``Decimal("0.049")`` -> ``"0.0490"``: four places, half-up, as outside checks expect."""
    rounded = value.quantize(_FOUR_PLACES, rounding=ROUND_HALF_UP, context=_CONTEXT)
    # A tiny negative rate must not print as "-0.0000".
    return str(rounded.copy_abs() if rounded.is_zero() else rounded)


def _to_decimal(value: Fraction) -> Decimal:
    """A fraction to sixty digits, in one rounding."""
    with localcontext(_CONTEXT):
        return Decimal(value.numerator) / value.denominator


def _solve(flows: list[tuple[int, int | Decimal]]) -> Decimal:
    # In x = 1/(1+r) the NPV is the polynomial f(x) = Σ c_e·x^e and r > −1 is x > 0.
    with localcontext(_CONTEXT):
        poly = _polynomial(flows)
        if sum(c for _, c in poly) == 0:
            return Decimal(0)
        low, high = _bracket(poly)
        return 1 / _refine(poly, low, high) - 1


def _polynomial(flows: list[tuple[int, int | Decimal]]) -> list[tuple[int, Decimal]]:
    merged: dict[int, Decimal] = {}
    for exponent, amount in flows:
        merged[exponent] = merged.get(exponent, Decimal(0)) + _as_decimal(amount)
    poly = sorted((e, c) for e, c in merged.items() if c != 0)
    changes = sum((a < 0) != (b < 0) for (_, a), (_, b) in pairwise(poly))
    if changes == 0:
        raise ValueError("cash flows need both an outflow and an inflow to have a rate")
    # Descartes' rule of signs: one change of sign means exactly one rate; more can mean
    # several or none, and picking one would be a guess.
    if changes > 1:
        raise ValueError("cash flows change sign more than once: the rate is not unique")
    return poly


def _bracket(poly: list[tuple[int, Decimal]]) -> tuple[Decimal, Decimal]:
    """An interval [x, 2x] over which f changes sign, searched outward from x = 1."""
    at_one = _evaluate(poly, Decimal(1))[0]
    for j in range(1, _MAX_DOUBLINGS + 1):
        for x in (Decimal(2) ** -j, Decimal(2) ** j):
            if (_evaluate(poly, x)[0] < 0) != (at_one < 0):
                return (x, x * 2) if x < 1 else (x / 2, x)
    raise ValueError("the rate is beyond 2^64 per period (or that close to -100%)")


def _refine(poly: list[tuple[int, Decimal]], low: Decimal, high: Decimal) -> Decimal:
    """Newton's method kept inside a shrinking sign-change bracket; bisection whenever
    Newton leaves the bracket or fails to halve |f|."""
    low_negative = _evaluate(poly, low)[0] < 0
    x = (low + high) / 2
    previous = Decimal("Infinity")
    for _ in range(_MAX_STEPS):
        value, slope, scale = _evaluate(poly, x)
        if abs(value) <= scale * _TOLERANCE:
            return x
        if (value < 0) == low_negative:
            low = x
        else:
            high = x
        if high - low <= x * _TOLERANCE:
            return x
        newton = x - value / slope if slope != 0 else low
        stalled = abs(value) > previous / 2
        x = newton if low < newton < high and not stalled else (low + high) / 2
        previous = abs(value)
    raise ArithmeticError("the rate did not converge")  # pragma: no cover - a solver bug


def _evaluate(poly: list[tuple[int, Decimal]], x: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """f(x), f'(x), and Σ |c_e|·x^e (the size against which f counts as zero)."""
    value = weighted = scale = Decimal(0)
    power, exponent = Decimal(1), 0
    for e, c in poly:
        power *= x ** (e - exponent)
        exponent = e
        value += c * power
        weighted += e * c * power
        scale += abs(c) * power
    return value, weighted / x, scale


def _as_decimal(amount: object) -> Decimal:
    # bool is an int subclass (True fen is a bug); a float would carry binary error in.
    if isinstance(amount, int) and not isinstance(amount, bool):
        return Decimal(amount)
    if isinstance(amount, Decimal) and amount.is_finite():
        return amount
    raise ValueError(f"amounts must be int fen or finite Decimals, not {amount!r}")
