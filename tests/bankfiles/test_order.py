"""A file listed newest first (as 网银 exports often are) is read in booking order."""

from __future__ import annotations

from tests.bankfiles.helpers import rows, sample
from yirong.bankfiles import parse_statements


def reversed_table(text: str, header_row: int) -> str:
    """The same export with its table's rows in the opposite order."""
    lines = text.split("\r\n")
    head, body = lines[:header_row], [line for line in lines[header_row:] if line]
    return "\r\n".join(head + body[::-1]) + "\r\n"


def test_a_cmb_export_newest_first_reads_as_the_oldest_first_one() -> None:
    oldest_first = sample("cmb_gbk.csv").decode("gbk")
    newest_first = reversed_table(oldest_first, header_row=6)
    assert newest_first != oldest_first
    (forward,) = parse_statements(oldest_first.encode("gbk"))
    (backward,) = parse_statements(newest_first.encode("gbk"))
    assert rows(backward) == rows(forward)
    assert (backward.opening_balance, backward.closing_balance) == (114_648_750, 129_647_550)


def test_an_icbc_export_newest_first_reads_as_the_oldest_first_one() -> None:
    oldest_first = sample("icbc_detail_noserial.csv").decode("gbk")
    newest_first = reversed_table(oldest_first, header_row=2)
    (forward,) = parse_statements(oldest_first.encode("gbk"))
    (backward,) = parse_statements(newest_first.encode("gbk"))
    assert rows(backward) == rows(forward)
    assert [line.balance_after for line in backward.lines] == [27_875_544, 27_870_044, 27_875_544]


def test_lines_without_balances_whose_dates_run_backwards_are_turned_round() -> None:
    text = sample("yirong.csv").decode()
    header, first = text.split("\n")[8:10]
    later = "2026-01-11,,D,100,,,,短信费,S9,,,"
    text = text.replace("# to: 2026-01-10", "# to: 2026-01-11")
    text = text.replace("closing_balance_fen: 131147150", "closing_balance_fen: 131147450")
    meta = text.split(header)[0]
    (stmt,) = parse_statements(f"{meta}{header}\n{later}\n{first}\n".encode())
    assert [line.memo for line in stmt.lines] == ["放款 YR202601100000000001, 第1笔", "短信费"]
