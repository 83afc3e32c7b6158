"""Each hand-written sample file read into exactly the lines and totals typed here."""

from __future__ import annotations

from datetime import date, time

import pytest

from tests.bankfiles.helpers import composed, facts, rows, sample
from yirong.bankfiles import parse_statements, sniff

D5, D6, D7, D8, D9, D10 = (date(2026, 1, day) for day in (5, 6, 7, 8, 9, 10))
RESERVE = "755915678910802"
ICBC = "1202021309900123456"
LENDER = ("杭州某小额贷款有限公司", "3301040160000001234", "杭州银行")
ZHANG = ("张三", "6222021234567890123", "中国工商银行深圳分行")
NOBODY = ("", "", "")
FEE_0105 = composed("2026-01-05", "", "D", "1200", "", "", "手续费")


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("camt053_v02.xml", "camt053"),
        ("camt053_v08.xml", "camt053"),
        ("mt940_envelope.sta", "mt940"),
        ("mt940_plain.sta", "mt940"),
        ("cmb_gbk.csv", "cmb"),
        ("cmb.xlsx", "cmb"),
        ("icbc_historydetail.xlsx", "icbc"),
        ("icbc_detail_noserial.csv", "icbc"),
        ("yirong.csv", "csv"),
    ],
)
def test_the_format_is_recognised_from_the_content(name: str, fmt: str) -> None:
    assert sniff(sample(name), "upload.bin") == fmt


def test_camt053_001_02_books_entries_and_skips_the_pending_one() -> None:
    (stmt,) = parse_statements(sample("camt053_v02.xml"))
    assert facts(stmt) == (
        "camt053", RESERVE, "易融支付有限公司备付金", "CNY", "STMT-755915678910802-20260105",
        D5, D5, 100_000_000, 114_698_750, 15_000_000, 301_250,
    )  # fmt: skip
    assert rows(stmt) == [
        (D5, D5, None, "C", 15_000_000, "s:CMB0105A0001", "CMB0105A0001", *LENDER,
         "放款 YR202601050000000001 | 汇入汇款", "YR202601050000000001",
         "7559156789108020001", None, False),
        (D5, D5, None, "D", 300_050, "s:CMB0105B0002", "CMB0105B0002", *ZHANG,
         "代付 PAY20260105000001", "PAY20260105000001", "", None, False),
        (D5, D5, None, "D", 1_200, FEE_0105, "", *NOBODY, "手续费", "", "", None, False),
    ]  # fmt: skip


def test_camt053_001_08_two_statements_a_reversal_and_an_overdrawn_close() -> None:
    reserve, other = parse_statements(sample("camt053_v08.xml"))
    assert facts(reserve) == (
        "camt053", RESERVE, "易融支付有限公司", "CNY", "STMT-755915678910802-20260106",
        D6, D6, 114_698_750, 114_698_750, 2_000_000, 2_000_000,
    )  # fmt: skip
    assert rows(reserve) == [
        (D6, D6, time(10, 15, 30), "C", 2_000_000, "s:CMB0106A0001", "CMB0106A0001",
         "深圳某商贸有限公司", "622609000012345678", "CMBCCNBS", "货款 | 订单 SO-778",
         "", "", None, False),
        (D6, D6, time(16, 0), "D", 2_000_000, "s:CMB0106R0001", "CMB0106R0001", *NOBODY,
         "冲正 CMB0106A0001", "", "", None, True),
    ]  # fmt: skip
    assert facts(other) == (
        "camt053", "755915678910999", "易融支付有限公司运营户", "CNY",
        "STMT-755915678910999-20260106", D6, D6, 50_000, -30_000, 0, 80_000,
    )  # fmt: skip
    assert rows(other) == [
        (D6, D7, None, "D", 80_000, "s:CMB0106B0099", "CMB0106B0099",
         "深圳市某某物业管理有限公司", "CN12345678901234567890", "",
         "物业费 2026年1月 | 扣款", "PAY20260106000077", "", None, False),
    ]  # fmt: skip


def test_mt940_in_a_swift_envelope() -> None:
    (stmt,) = parse_statements(sample("mt940_envelope.sta"))
    assert facts(stmt) == (
        "mt940", RESERVE, "", "CNY", "STMT260105/5/1",
        D5, D5, 100_000_000, 114_698_750, 15_000_000, 301_250,
    )  # fmt: skip
    assert rows(stmt) == [
        (D5, D5, None, "C", 15_000_000, "s:CMB0105A0001", "CMB0105A0001", *LENDER,
         "放款 YR202601050000000001", "YR2026010500001", "", None, False),
        (D5, D5, None, "D", 300_050, "s:CMB0105B0002", "CMB0105B0002", *NOBODY,
         "代付 PAY20260105000001 张三", "", "", None, False),
        (D5, D6, None, "D", 1_200, FEE_0105, "", *NOBODY, "手续费", "", "", None, False),
    ]  # fmt: skip


def test_mt940_without_envelope_two_messages_german_subfields_and_rc() -> None:
    first, second = parse_statements(sample("mt940_plain.sta"))
    assert facts(first) == (
        "mt940", RESERVE, "", "CNY", "STMT260106/6/1",
        D6, D6, 114_698_750, 114_698_750, 2_000_000, 2_000_000,
    )  # fmt: skip
    assert rows(first) == [
        (D6, D6, None, "C", 2_000_000, "s:CMB0106A0001", "CMB0106A0001",
         "深圳某商贸有限公司", "622609000012345678", "CMBCCNBS", "货款订单 SO-778",
         "", "", None, False),
        (D6, D6, None, "D", 2_000_000, "s:CMB0106R0001", "CMB0106R0001", *NOBODY,
         "冲正 CMB0106A0001", "", "", None, True),
    ]  # fmt: skip
    assert facts(second) == (
        "mt940", RESERVE, "", "CNY", "STMT260107/7/1",
        D7, D7, 114_698_750, 114_648_750, 0, 50_000,
    )  # fmt: skip
    assert rows(second) == [
        (D7, D7, None, "D", 50_000, "s:CMB0107B0001", "CMB0107B0001",
         "李四", "6222021234567890123", "", "代付 PAY0107", "PAY0107", "", None, False),
    ]  # fmt: skip


def test_cmb_csv_in_gbk_with_title_rows_and_a_reversal() -> None:
    (stmt,) = parse_statements(sample("cmb_gbk.csv"))
    assert facts(stmt) == (
        "cmb", RESERVE, "易融支付有限公司备付金", "CNY", "755915678910802:2026-01-08:2026-01-08",
        D8, D8, 114_648_750, 129_647_550, 15_300_050, 301_250,
    )  # fmt: skip
    assert rows(stmt) == [
        (D8, D8, time(9, 30, 1), "C", 15_000_000, "s:K3052300000123C", "K3052300000123C",
         *LENDER, "放款 YR202601080000000001 | 汇入汇款", "YR202601080000000001", "",
         129_648_750, False),
        (D8, D8, time(10, 2, 15), "D", 300_050, "s:K3052300000124C", "K3052300000124C",
         *ZHANG, "代付 PAY20260108000001 | 汇出汇款", "PAY20260108000001", "",
         129_348_700, False),
        (D8, D8, time(16, 45), "C", 300_050, "s:K3052300000125C", "K3052300000125C",
         *ZHANG, "退汇 PAY20260108000001 | 退汇", "", "", 129_648_750, True),
        (D8, D9, time(17, 10, 5), "D", 1_200, "s:K3052300000126C", "K3052300000126C",
         *NOBODY, "手续费", "ORD-778", "", 129_647_550, False),
    ]  # fmt: skip


def test_cmb_xlsx_with_sub_accounts_credited() -> None:
    (stmt,) = parse_statements(sample("cmb.xlsx"), filename="cmb.xlsx")
    assert facts(stmt) == (
        "cmb", RESERVE, "易融支付有限公司备付金", "CNY", "755915678910802:2026-01-09:2026-01-09",
        D9, D9, 129_647_550, 130_456_438, 908_888, 100_000,
    )  # fmt: skip
    wang = ("王五", "6217001234567890", "中国建设银行")
    assert rows(stmt) == [
        (D9, D9, time(9, 5), "C", 888_888, "s:K3052300000201C", "K3052300000201C", *wang,
         "充值 W100023 | 汇入汇款", "", "7559156789108020001", 130_536_438, False),
        (D9, D9, time(9, 40, 12), "C", 20_000, "s:K3052300000202C", "K3052300000202C",
         "赵六", "6217001234560000", "中国农业银行", "充值 W100024", "",
         "7559156789108020002", 130_556_438, False),
        (D9, D9, time(15, 0), "D", 100_000, "s:K3052300000203C", "K3052300000203C", *wang,
         "提现 WD0001", "WD0001", "", 130_456_438, False),
    ]  # fmt: skip


def test_icbc_historydetail_listed_newest_first_is_read_in_booking_order() -> None:
    (stmt,) = parse_statements(sample("icbc_historydetail.xlsx"), filename="historydetail.xlsx")
    assert facts(stmt) == (
        "icbc", ICBC, "", "CNY", "1202021309900123456:2026-01-05:2026-01-06",
        D5, D6, 20_000_000, 24_875_544, 5_000_000, 124_456,
    )  # fmt: skip
    fee = composed("2026-01-06", "11:11:11", "D", "1000", "", "24875544", "手续费")
    assert rows(stmt) == [
        (D5, D5, time(9), "C", 5_000_000, "s:0123456789", "0123456789",
         "杭州某小额贷款有限公司", "3301040160000001234", "313331000014",
         "转账 | 放款 YR202601050000000009", "", "", 25_000_000, False),
        (D5, D5, time(15, 30, 12), "D", 123_456, "s:0123456790", "0123456790",
         "张三", "6222021234567890123", "102584000002", "汇款 | 代付 PAY0105", "", "",
         24_876_544, False),
        (D6, D6, time(11, 11, 11), "D", 1_000, fee, "", *NOBODY, "手续费", "", "",
         24_875_544, False),
    ]  # fmt: skip


def test_icbc_transfer_in_out_layout_without_serials_composes_identities() -> None:
    (stmt,) = parse_statements(sample("icbc_detail_noserial.csv"))
    assert facts(stmt) == (
        "icbc", ICBC, "易融支付有限公司", "CNY", "1202021309900123456:2026-01-07:2026-01-07",
        D7, D7, 24_875_544, 27_875_544, 3_005_500, 5_500,
    )  # fmt: skip
    power = ("深圳供电局", "4000021234567", "工商银行深圳分行")
    assert rows(stmt) == [
        (D7, D7, time(8, 15), "C", 3_000_000,
         composed("2026-01-07", "08:15:00", "C", "3000000", "3301040160000001234",
                  "27875544", "转账 | 放款 YR202601070000000003"),
         "", *LENDER, "转账 | 放款 YR202601070000000003", "", "", 27_875_544, False),
        (D7, D7, time(13, 20, 45), "D", 5_500,
         composed("2026-01-07", "13:20:45", "D", "5500", "4000021234567", "27870044", "电费"),
         "", *power, "电费", "", "", 27_870_044, False),
        # printed as -55.00 in 转出金额 (红字): the charge reversed, money back in
        (D7, D7, time(13, 20, 45), "C", 5_500,
         composed("2026-01-07", "13:20:45", "C", "5500", "4000021234567", "27875544",
                  "冲正 | 电费退回"),
         "", *power, "冲正 | 电费退回", "", "", 27_875_544, True),
    ]  # fmt: skip


def test_yirong_csv_with_a_quoted_memo_and_two_identical_fees() -> None:
    (stmt,) = parse_statements(sample("yirong.csv"))
    assert facts(stmt) == (
        "csv", RESERVE, "易融支付有限公司备付金", "CNY", "755915678910802-2026-01-10",
        D10, D10, 129_647_550, 131_147_150, 1_500_000, 400,
    )  # fmt: skip
    fee = composed("2026-01-10", "", "D", "200", "", "", "手续费")
    assert rows(stmt) == [
        (D10, D10, None, "C", 1_500_000, "s:TB0802000100000", "TB0802000100000", *LENDER,
         "放款 YR202601100000000001, 第1笔", "YR202601100000000001", "7559156789108020001",
         None, False),
        (D10, D10, None, "D", 200, fee, "", *NOBODY, "手续费", "", "", None, False),
        (D10, D10, None, "D", 200, fee + "#2", "", *NOBODY, "手续费", "", "", None, False),
    ]  # fmt: skip
