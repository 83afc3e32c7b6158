"""Money is integer fen (分) wherever it is stored or moved; Decimal only inside a
calculation; never float. These helpers are the only way in and out of that rule."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import NewType

from yirong.errors import YirongError

Fen = NewType("Fen", int)

# Larger than any real movement (10 trillion yuan), small enough that a balance of
# thousands of such postings still fits a signed 64-bit column.
MAX_AMOUNT_FEN = 10**15
FEN_PER_YUAN = 100
_CENT = Decimal("0.01")


def check_amount(value: object) -> Fen:
    """Return ``value`` as a positive amount of fen, or refuse it with a specific code."""
    # bool is an int subclass; True fen is a bug, not a payment.
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, Decimal) and value == value.to_integral_value():
            value = int(value)
        else:
            raise YirongError("amount_not_integer", value=str(value))
    if value == 0:
        raise YirongError("amount_zero")
    if value < 0:
        raise YirongError("amount_negative", value=value)
    if value > MAX_AMOUNT_FEN:
        raise YirongError("amount_too_large", value=value, maximum=MAX_AMOUNT_FEN)
    return Fen(value)


def parse_yuan(text: str) -> Fen:
    """Parse a yuan amount such as ``"1234.5"`` into fen, exactly."""
    try:
        amount = Decimal(text.strip().replace(",", ""))
    except InvalidOperation as exc:
        raise YirongError("amount_not_yuan", value=text) from exc
    if not amount.is_finite() or amount != amount.quantize(_CENT):
        raise YirongError("amount_not_yuan", value=text)
    return check_amount(int(amount * FEN_PER_YUAN))


def parse_fen(text: str) -> Fen:
    """Parse an integer count of fen as it appears in a file or on a command line."""
    stripped = text.strip()
    if not stripped.lstrip("-").isdigit():
        raise YirongError("amount_not_integer", value=text)
    return check_amount(int(stripped))


def divide_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up to an integer: the books' one rounding
    (interest, penalty, fees, shares, schedules), in integers so that it is exact and
    the SQL of the end of day can write the same expression (``charged_sql``)."""
    if denominator <= 0:
        raise ValueError(f"the denominator must be positive, not {denominator}")
    return (2 * numerator + denominator) // (2 * denominator)


def round_half_up_fen(amount: Decimal | Fraction) -> Fen:
    """Round a fractional fen amount half-up to whole fen (the booking convention)."""
    exact = Fraction(amount)
    return Fen(divide_half_up(exact.numerator, exact.denominator))


def ppm_of(amount: int, ppm: int) -> int:
    """``amount`` times a rate in millionths, half-up: a fee, a share, a rate's multiple."""
    return divide_half_up(amount * ppm, PPM)


def format_fen(fen: int) -> str:
    """``123456`` -> ``"1,234.56"``: yuan with thousands separators, exact."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{yuan:,}.{cents:02d}"


# ---------------------------------------------------------------- rates

# Rates (annual interest, APR, shares) are Decimals in calculations and integers of
# millionths ("ppm") in storage: 18.25% is 182_500. Never floats.
PPM = 1_000_000


def rate_to_ppm(rate: Decimal) -> int:
    scaled = rate * PPM
    if scaled != scaled.to_integral_value():
        raise YirongError("rate_too_precise", rate=str(rate))
    return int(scaled)


def ppm_to_rate(ppm: int) -> Decimal:
    return Decimal(ppm) / PPM


def parse_percent(text: str) -> Decimal:
    """``"18.25"`` or ``"18.25%"`` -> ``Decimal("0.1825")``."""
    try:
        value = Decimal(text.strip().rstrip("%").strip())
    except InvalidOperation as exc:
        raise YirongError("rate_invalid", value=text) from exc
    if not value.is_finite() or value < 0:
        raise YirongError("rate_invalid", value=text)
    rate = value / 100
    rate_to_ppm(rate)
    return rate


def format_percent(rate: Decimal, places: int = 2) -> str:
    """``Decimal("0.1825")`` -> ``"18.25%"``."""
    return f"{(rate * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)}%"
