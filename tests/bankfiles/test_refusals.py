"""Every refusal by its code, and the place it names: a file is taken whole or not at all."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.bankfiles.helpers import sample
from tests.bankfiles.samples.make_xlsx import ICBC_ROWS, build
from yirong.bankfiles import parse_statements
from yirong.errors import YirongError


def refusal(content: bytes, *, fmt: str = "auto", filename: str = "") -> YirongError:
    with pytest.raises(YirongError) as caught:
        parse_statements(content, filename=filename, fmt=fmt)
    return caught.value


def gbk_sample(name: str) -> str:
    return sample(name).decode("gbk")


# ---------------------------------------------------------------- encoding, format


@pytest.mark.parametrize(
    "content",
    [
        sample("yirong.csv").decode().encode("utf-16"),  # with its byte-order mark
        gbk_sample("cmb_gbk.csv").encode("utf-16-le"),  # without: NULs give it away
        sample("camt053_v02.xml").decode().encode("utf-32"),
        b"# account: 755915678910802\n\x80\x80\xff\xfe\xfd",  # neither UTF-8 nor GBK
        bytes(range(256)) * 4,  # binary garbage
    ],
)
def test_text_in_another_encoding_is_refused(content: bytes) -> None:
    assert refusal(content).code == "statement_encoding_invalid"


def test_our_csv_is_utf8_only() -> None:
    gbk = sample("yirong.csv").decode().encode("gbk")
    assert refusal(gbk, fmt="csv").code == "statement_encoding_invalid"


@pytest.mark.parametrize(
    "content",
    [
        b"hello, world\nthis is not a statement\n",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100),  # a legacy .xls workbook
        b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
        b'pain.001.001.09"><CstmrCdtTrfInitn/></Document>',
        b"",
    ],
)
def test_a_file_in_no_known_layout_is_refused(content: bytes) -> None:
    assert refusal(content, filename="upload.bin").code == "statement_format_unknown"


def test_an_unknown_format_name_is_refused() -> None:
    error = refusal(sample("yirong.csv"), fmt="ofx")
    assert error.code == "statement_format_unknown"
    assert error.details["format"] == "ofx"


# ---------------------------------------------------------------- currency


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("camt053_v02.xml", 'Ccy="CNY"', 'Ccy="USD"'),
        ("mt940_plain.sta", "CNY", "USD"),
        ("yirong.csv", "# currency: CNY", "# currency: USD"),
    ],
)
def test_a_statement_in_another_currency_is_refused(name: str, old: str, new: str) -> None:
    content = sample(name).decode().replace(old, new).encode()
    assert refusal(content).code == "statement_currency_not_cny"


def test_a_cmb_export_in_us_dollars_is_refused() -> None:
    content = gbk_sample("cmb_gbk.csv").replace("币种：人民币", "币种：美元").encode("gbk")
    error = refusal(content)
    assert error.code == "statement_currency_not_cny"
    assert error.details["currency"] == "美元"


@pytest.mark.parametrize("spelling", ["人民币", "RMB", "CNY", "156"])
def test_every_spelling_of_the_yuan_is_cny(spelling: str) -> None:
    content = gbk_sample("cmb_gbk.csv").replace("币种：人民币", f"币种：{spelling}")
    (stmt,) = parse_statements(content.encode("gbk"))
    assert stmt.currency == "CNY"


# ---------------------------------------------------------------- balances


def test_camt_totals_that_do_not_add_up_are_refused() -> None:
    content = sample("camt053_v02.xml").replace(b">1146987.50<", b">1146987.51<")
    error = refusal(content)
    assert error.code == "statement_unbalanced"
    assert error.details["expected"] == 114_698_750  # 1,000,000.00 + 150,000.00 - 3,012.50
    assert error.details["found"] == 114_698_751
    assert error.details["place"] == "closing balance"


def test_mt940_totals_that_do_not_add_up_are_refused() -> None:
    content = sample("mt940_envelope.sta").replace(
        b":62F:C260105CNY1146987,50", b":62F:C260105CNY1146987,00"
    )
    error = refusal(content)
    assert error.code == "statement_unbalanced"
    assert (error.details["expected"], error.details["found"]) == (114_698_750, 114_698_700)


def test_csv_totals_that_do_not_add_up_are_refused() -> None:
    content = sample("yirong.csv").replace(
        b"closing_balance_fen: 131147150", b"closing_balance_fen: 131147350"
    )
    error = refusal(content)
    assert error.code == "statement_unbalanced"
    assert (error.details["expected"], error.details["found"]) == (131_147_150, 131_147_350)


def test_a_broken_running_balance_is_refused_naming_its_row() -> None:
    text = gbk_sample("cmb_gbk.csv").replace('"1,293,487.00"', '"1,293,486.00"')
    error = refusal(text.encode("gbk"))
    assert error.code == "statement_unbalanced"
    # opening 1,146,487.50 + 150,000.00 - 3,000.50 = 1,293,487.00; the bank printed one yuan less
    assert error.details["expected"] == 129_348_700
    assert error.details["found"] == 129_348_600
    assert error.details["place"] == "row 8"


def test_a_broken_running_balance_in_a_newest_first_file_names_its_row(tmp_path: Path) -> None:
    rows = [list(r) for r in ICBC_ROWS]
    assert rows[3][-1] == "248,765.44"  # the middle line (sheet row 4), listed newest first
    rows[3][-1] = "248,775.44"
    build(rows, tmp_path / "historydetail.xlsx")
    error = refusal((tmp_path / "historydetail.xlsx").read_bytes())
    assert error.code == "statement_unbalanced"
    # read in booking order: 200,000.00 + 50,000.00 - 1,234.56 = 248,765.44
    assert (error.details["expected"], error.details["found"]) == (24_876_544, 24_877_544)
    assert error.details["place"] == "row 4"


def test_a_statement_that_nothing_proves_is_refused() -> None:
    text = sample("camt053_v02.xml").decode()
    start, end = text.index("<Bal>"), text.rindex("</Bal>") + len("</Bal>")
    error = refusal((text[:start] + text[end:]).encode())
    assert error.code == "statement_malformed"
    assert error.details["field"] == "balances"


def test_a_csv_without_balances_is_refused() -> None:
    text = sample("yirong.csv").decode()
    text = text.replace("# opening_balance_fen: 129647550\n", "")
    text = text.replace("# closing_balance_fen: 131147150\n", "")
    assert refusal(text.encode()).code == "statement_malformed"


def test_a_csv_proved_by_running_balances_alone_is_taken() -> None:
    text = (
        "# account: 755915678910802\n# currency: CNY\n"
        + ",".join(("booking_date,value_date,direction,amount_fen,counterparty_name",
                    "counterparty_account,counterparty_bank,memo,bank_serial",
                    "end_to_end_ref,virtual_account,balance_after_fen"))
        + "\n2026-01-10,,C,500,,,,,S1,,,1500\n2026-01-10,,D,200,,,,,S2,,,1300\n"
    )  # fmt: skip
    (stmt,) = parse_statements(text.encode())
    assert (stmt.opening_balance, stmt.closing_balance) == (1_000, 1_300)
    assert stmt.statement_id == "755915678910802:2026-01-10:2026-01-10"


# ---------------------------------------------------------------- malformed values


def test_an_amount_with_three_decimals_is_refused_naming_row_and_field() -> None:
    text = gbk_sample("cmb_gbk.csv").replace('"3,000.50",,', '"3,000.505",,')
    error = refusal(text.encode("gbk"))
    assert error.code == "statement_malformed"
    assert (error.details["place"], error.details["field"]) == ("row 8", "借方金额")


def test_a_camt_amount_with_three_decimals_is_refused() -> None:
    content = sample("camt053_v02.xml").replace(b">3000.50<", b">3000.500<")
    error = refusal(content)
    assert error.code == "statement_malformed"
    assert (error.details["place"], error.details["field"]) == ("Stmt 1 Ntry 2", "Amt")


def test_a_missing_required_column_is_refused_by_name() -> None:
    text = gbk_sample("cmb_gbk.csv").replace(",余额,", ",结余,")
    error = refusal(text.encode("gbk"))
    assert error.code == "statement_malformed"
    assert error.details["field"] == "余额"
    assert error.details["place"] == "row 6"


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("2026-01-10,,D,200", "2026-01-10,,D,2.00", "amount_fen"),
        ("2026-01-10,,D,200", "2026-01-10,,X,200", "direction"),
        ("2026-01-10,,D,200", "2026-01-32,,D,200", "booking_date"),
        ("2026-01-10,,D,200", "2026-01-10,,D,0", "amount_fen"),
    ],
)
def test_a_bad_csv_value_is_refused_naming_line_and_field(old: str, new: str, field: str) -> None:
    content = sample("yirong.csv").decode().replace(old, new, 1).encode()
    error = refusal(content)
    assert error.code == "statement_malformed"
    assert (error.details["place"], error.details["field"]) == ("line 11", field)


def test_a_malformed_mt940_line_is_refused() -> None:
    content = sample("mt940_plain.sta").replace(b":61:2601070107D500,00", b":61:26010X0107D500,00")
    error = refusal(content)
    assert error.code == "statement_malformed"
    assert error.details["field"] == ":61:"


# ---------------------------------------------------------------- hostile XML


def test_truncated_xml_is_refused() -> None:
    content = sample("camt053_v02.xml")
    error = refusal(content[: len(content) // 2])
    assert error.code == "statement_malformed"
    assert error.details["field"] == "xml"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Id>&lol9;</Id></Stmt></BkToCstmrStmt></Document>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Id>&secret;</Id></Stmt></BkToCstmrStmt></Document>"""


@pytest.mark.parametrize("content", [BILLION_LAUGHS, EXTERNAL_ENTITY])
@pytest.mark.parametrize("fmt", ["auto", "camt053"])
def test_entity_tricks_are_refused_without_expanding(content: bytes, fmt: str) -> None:
    started = time.perf_counter()
    error = refusal(content, fmt=fmt)
    assert error.code == "statement_malformed"
    assert error.details["place"] == "DOCTYPE"
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_wide_xml_is_refused_before_it_is_parsed(encoding: str) -> None:
    """Where the byte scan for <!DOCTYPE would see nothing: nothing is parsed at all."""
    content = BILLION_LAUGHS.replace(b'<?xml version="1.0"?>', b"").decode().encode(encoding)
    started = time.perf_counter()
    assert refusal(content, fmt="camt053").code == "statement_encoding_invalid"
    assert time.perf_counter() - started < 1.0
