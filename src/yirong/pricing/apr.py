"""年化利率 by the IRR method of PBoC Announcement 〔2021〕 No. 3: the rate that discounts
what the borrower repays to what they actually received (the principal less any fee).

Cash flows are the lender's: day 0 is ``-(principal - fee)``, then each repayment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_UP, Context, Decimal, localcontext
from itertools import pairwise

from yirong.pricing.schedule import MONTHS_PER_YEAR, Method, Schedule

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
    """The IRR per period and its two annualisations: 单利 (simple) and 复利 (compound)."""

    period_rate: Decimal
    periods_per_year: int
    simple: Decimal
    compound: Decimal


def irr(cash_flows: Sequence[int | Decimal]) -> Decimal:
    """The rate r per period with Σ CF_k / (1+r)^k = 0, CF_0 being at time 0.

    The flows must change sign exactly once (a loan: out, then back in), so that the
    rate is unique; anything else is refused with ValueError."""
    return _solve(list(enumerate(cash_flows)))


def xirr_daily(flows: Sequence[tuple[int, int | Decimal]]) -> Decimal:
    """The daily rate r with Σ amount / (1+r)^day = 0; days are offsets from day 0.
    Same-day amounts are netted; as for :func:`irr`, exactly one change of sign."""
    for day, _ in flows:
        if isinstance(day, bool) or not isinstance(day, int) or day < 0:
            raise ValueError(f"day offsets must be whole days from day 0, not {day!r}")
    return _solve(list(flows))


def annualise(period_rate: Decimal, periods_per_year: int) -> Apr:
    """单利 r·m and 复利 (1+r)^m − 1 of a rate r per period, m periods a year."""
    with localcontext(_CONTEXT):
        simple = period_rate * periods_per_year
        compound = (1 + period_rate) ** periods_per_year - 1
    return Apr(period_rate, periods_per_year, simple, compound)


def schedule_apr(schedule: Schedule) -> Apr:
    """Monthly methods: IRR per month, 12 a year. Bullet: IRR per day over its actual
    days, ``day_basis`` a year."""
    received = -(schedule.principal - schedule.fee)
    if schedule.method is Method.BULLET:
        repayments = [
            ((row.due_date - schedule.start).days, row.total) for row in schedule.installments
        ]
        return annualise(xirr_daily([(0, received), *repayments]), schedule.day_basis)
    totals = [row.total for row in schedule.installments]
    return annualise(irr([received, *totals]), MONTHS_PER_YEAR)


def apr_string(value: Decimal) -> str:
    """``Decimal("0.049")`` -> ``"0.0490"``: four places, half-up, as outside checks expect."""
    rounded = value.quantize(_FOUR_PLACES, rounding=ROUND_HALF_UP, context=_CONTEXT)
    # A tiny negative rate must not print as "-0.0000".
    return str(rounded.copy_abs() if rounded.is_zero() else rounded)


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
