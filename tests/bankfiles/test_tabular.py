"""Bank exports read by their header names: columns in any order, optional ones missing,
several accounts in one file, totals rows below the table, and Yirong's CSV quoting."""

from __future__ import annotations

from datetime import date

import pytest

from tests.bankfiles.helpers import rows, sample
from yirong.bankfiles import BankLine, BankStatement, Direction, parse_statements, write_csv
from yirong.errors import YirongError

TWO_ACCOUNTS = """\
余额,贷方金额,借方金额,交易日,账号,币种,流水号
"1,100.00",100.00,,2026-01-12,755915678910802,人民币,A1
"1,050.00",,50.00,2026-01-12,755915678910802,人民币,A2
-20.00,,20.00,2026-01-12,755915678910999,人民币,B1
"""


def test_reordered_minimal_columns_and_two_accounts_make_two_statements() -> None:
    first, second = parse_statements(TWO_ACCOUNTS.encode("gbk"))
    day = date(2026, 1, 12)
    assert (first.format, first.account_number, first.opening_balance, first.closing_balance) == (
        "cmb", "755915678910802", 100_000, 105_000,
    )  # fmt: skip
    assert [(x.identity, x.direction.value, x.amount, x.balance_after) for x in first.lines] == [
        ("s:A1", "C", 10_000, 110_000),
        ("s:A2", "D", 5_000, 105_000),
    ]
    assert (second.account_number, second.opening_balance, second.closing_balance) == (
        "755915678910999", 0, -2_000,
    )  # fmt: skip
    assert [(line.booking_date, line.value_date, line.booked_at) for line in second.lines] == [
        (day, day, None)
    ]


def test_rows_of_totals_below_the_table_are_not_lines() -> None:
    text = sample("cmb_gbk.csv").decode("gbk")
    footed = (
        text + '合计,,,,"3,012.50","153,000.50",,,,,,,,,,\r\n注：本明细仅供参考,,,,,,,,,,,,,,,\r\n'
    )
    (plain,) = parse_statements(text.encode("gbk"))
    (footed_stmt,) = parse_statements(footed.encode("gbk"))
    assert rows(footed_stmt) == rows(plain)


def test_an_unknown_reversal_flag_is_refused() -> None:
    text = sample("cmb_gbk.csv").decode("gbk").replace(",Y,", ",也许,")
    with pytest.raises(YirongError) as caught:
        parse_statements(text.encode("gbk"))
    assert caught.value.details["field"] == "冲账标志"
    assert caught.value.details["place"] == "row 9"


def test_a_row_with_both_a_debit_and_a_credit_is_refused() -> None:
    text = (
        sample("cmb_gbk.csv")
        .decode("gbk")
        .replace('"3,000.50",,"1,293,487.00"', '"3,000.50",1.00,"1,293,487.00"')
    )
    with pytest.raises(YirongError) as caught:
        parse_statements(text.encode("gbk"))
    assert caught.value.code == "statement_malformed"
    assert caught.value.details["place"] == "row 8"


def test_a_memo_with_line_breaks_and_quotes_survives_our_csv() -> None:
    day = date(2026, 1, 12)
    memo = '第一行\n第二行, "引号"\r\n第三行'
    lines = (
        BankLine(day, day, Direction.CREDIT, 500, "s:Q1", memo=memo, bank_serial="Q1"),
        BankLine(day, day, Direction.DEBIT, 200, "s:Q2", memo="plain", bank_serial="Q2"),
    )
    stmt = BankStatement("csv", "755915678910802", "", "CNY", "Q", day, day, 0, 300, lines)
    (parsed,) = parse_statements(write_csv(stmt))
    assert [line.memo for line in parsed.lines] == [memo, "plain"]


def test_a_fault_after_a_multi_line_record_names_its_own_line() -> None:
    day = date(2026, 1, 12)
    lines = (
        BankLine(day, day, Direction.CREDIT, 500, "s:Q1", memo="一\n二\n三", bank_serial="Q1"),
        BankLine(day, day, Direction.DEBIT, 200, "s:Q2", memo="plain", bank_serial="Q2"),
    )
    stmt = BankStatement("csv", "755915678910802", "", "CNY", "Q", day, day, 0, 300, lines)
    broken = write_csv(stmt).replace(b",D,200,", b",D,2x0,")
    with pytest.raises(YirongError) as caught:
        parse_statements(broken)
    # 8 metadata lines, the header on line 9, the first record on lines 10-12
    assert caught.value.details["place"] == "line 13"
