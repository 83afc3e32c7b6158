"""Printed amounts, dates and times, read exactly (a specification of the field readers)."""

from __future__ import annotations

from datetime import date, time

import pytest

from yirong.bankfiles.fields import parse_clock, parse_day, yuan_to_fen
from yirong.errors import YirongError


@pytest.mark.parametrize(
    ("printed", "fen"),
    [
        ("1,234.56", 123_456),
        ("1234.5", 123_450),
        ("1234", 123_400),
        ("0.01", 1),
        ("-12.00", -1_200),
        ("¥100", 10_000),
        (" 3,000.50 ", 300_050),
        ("99999999999999.99", 9_999_999_999_999_999),
        ("", None),
        ("-", None),
        ("--", None),
    ],
)
def test_a_printed_amount_is_read_as_fen(printed: str, fen: int | None) -> None:
    assert yuan_to_fen(printed, place="row 1", field="借方金额") == fen


@pytest.mark.parametrize("printed", ["1.234", "0.001", "1,234.560", "12a", "1.2.3", "NaN", "1e3"])
def test_an_amount_that_is_not_yuan_and_fen_is_refused(printed: str) -> None:
    with pytest.raises(YirongError) as caught:
        yuan_to_fen(printed, place="row 7", field="贷方金额")
    assert caught.value.code == "statement_malformed"
    assert caught.value.details["place"] == "row 7"
    assert caught.value.details["field"] == "贷方金额"


@pytest.mark.parametrize(
    ("printed", "day", "rest"),
    [
        ("20260105", date(2026, 1, 5), ""),
        ("2026-01-05", date(2026, 1, 5), ""),
        ("2026/1/5", date(2026, 1, 5), ""),
        ("2026年1月5日", date(2026, 1, 5), ""),
        ("2026-01-05 09:30:01", date(2026, 1, 5), "09:30:01"),
    ],
)
def test_a_printed_date(printed: str, day: date, rest: str) -> None:
    assert parse_day(printed, place="row 1", field="交易日") == (day, rest)


@pytest.mark.parametrize("printed", ["2026-02-30", "05/01/2026", "202601", "yesterday"])
def test_a_date_that_is_not_one_is_refused(printed: str) -> None:
    with pytest.raises(YirongError) as caught:
        parse_day(printed, place="row 3", field="交易日")
    assert (caught.value.code, caught.value.details["field"]) == ("statement_malformed", "交易日")


@pytest.mark.parametrize(
    ("printed", "clock"),
    [
        ("09:30:01", time(9, 30, 1)),
        ("9:30", time(9, 30)),
        ("093001", time(9, 30, 1)),
        ("93001", time(9, 30, 1)),  # a spreadsheet dropped the leading zero
        ("2026-01-05 09:30:01", time(9, 30, 1)),
        ("2026-01-05", None),
        ("", None),
    ],
)
def test_a_printed_time(printed: str, clock: time | None) -> None:
    assert parse_clock(printed, place="row 1", field="交易时间") == clock


@pytest.mark.parametrize("printed", ["25:00:00", "09:61", "noon"])
def test_a_time_that_is_not_one_is_refused(printed: str) -> None:
    with pytest.raises(YirongError):
        parse_clock(printed, place="row 1", field="交易时间")
