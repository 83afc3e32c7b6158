from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yirong.errors import CATALOGUE, YirongError
from yirong.money import (
    MAX_AMOUNT_FEN,
    check_amount,
    divide_half_up,
    format_fen,
    parse_fen,
    parse_yuan,
    ppm_of,
    rate_to_ppm,
    round_half_up_fen,
)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (0, "amount_zero"),
        (-1, "amount_negative"),
        (MAX_AMOUNT_FEN + 1, "amount_too_large"),
        (1.5, "amount_not_integer"),
        (100.0, "amount_not_integer"),  # a float is refused even when whole
        ("100", "amount_not_integer"),
        (True, "amount_not_integer"),
        (Decimal("1.01"), "amount_not_integer"),
        (None, "amount_not_integer"),
    ],
)
def test_bad_amounts_are_refused_with_their_own_code(value: object, code: str) -> None:
    with pytest.raises(YirongError) as refused:
        check_amount(value)
    assert refused.value.code == code
    assert refused.value.message == CATALOGUE[code].message


def test_good_amounts_pass_through_as_int() -> None:
    assert check_amount(1) == 1
    assert check_amount(MAX_AMOUNT_FEN) == MAX_AMOUNT_FEN
    assert check_amount(Decimal("250")) == 250
    assert type(check_amount(Decimal("250"))) is int


@pytest.mark.parametrize(
    ("text", "fen"),
    [("1", 100), ("0.01", 1), ("1234.5", 123450), ("1,234.56", 123456), (" 7.00 ", 700)],
)
def test_yuan_parse_exactly(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1.234", "amount_not_yuan"),
        ("abc", "amount_not_yuan"),
        ("NaN", "amount_not_yuan"),
        ("0", "amount_zero"),
        ("-5", "amount_negative"),
    ],
)
def test_bad_yuan_is_refused(text: str, code: str) -> None:
    with pytest.raises(YirongError) as refused:
        parse_yuan(text)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1.5", "amount_not_integer"),
        ("", "amount_not_integer"),
        ("12a", "amount_not_integer"),
        ("-3", "amount_negative"),
    ],
)
def test_bad_fen_text_is_refused(text: str, code: str) -> None:
    with pytest.raises(YirongError) as refused:
        parse_fen(text)
    assert refused.value.code == code


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_FEN))
def test_format_then_parse_round_trips(fen: int) -> None:
    assert parse_yuan(format_fen(fen)) == fen


def test_format_fen() -> None:
    assert format_fen(123456) == "1,234.56"
    assert format_fen(-5) == "-0.05"
    assert format_fen(0) == "0.00"


def test_the_one_rounding_is_half_up_on_exact_integers() -> None:
    # (numerator, denominator) -> by hand: 2.5 -> 3, 3.5 -> 4, 1/3 -> 0, 2/3 -> 1, -2.5 -> -2
    for numerator, denominator, rounded in (
        (5, 2, 3),
        (7, 2, 4),
        (1, 3, 0),
        (2, 3, 1),
        (-5, 2, -2),
        (10**30 + 1, 2, 5 * 10**29 + 1),
    ):
        assert divide_half_up(numerator, denominator) == rounded
    with pytest.raises(ValueError, match="positive"):
        divide_half_up(1, 0)
    # 333,333 fen at 18.25% is 60,833.2725 fen; half a fen of a rate rounds up.
    assert ppm_of(333_333, 182_500) == 60_833
    assert ppm_of(1, 500_000) == 1
    assert round_half_up_fen(Decimal("2.5")) == 3
    assert round_half_up_fen(Fraction(5, 2)) == 3
    assert round_half_up_fen(Decimal("2.4999")) == 2


def test_rates_are_kept_to_a_millionth() -> None:
    assert rate_to_ppm(Decimal("0.1825")) == 182_500  # 18.25%
    assert rate_to_ppm(Decimal("0.000001")) == 1  # 0.0001%, the finest kept
    with pytest.raises(YirongError) as refused:
        rate_to_ppm(Decimal("0.0000005"))  # 0.00005%: half a millionth
    assert refused.value.code == "rate_too_precise"
