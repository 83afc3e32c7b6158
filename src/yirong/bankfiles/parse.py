"""Reading a statement file of any supported layout: its format recognised from its
content, every statement in it proved (currency, balances) before it is returned."""

from __future__ import annotations

import re
from collections.abc import Callable

# Each layout's parts by their module, not through the package: its __init__ imports
# this module, and the package stays above its parts.
from yirong.bankfiles.camt053 import parse as parse_camt053
from yirong.bankfiles.cmb import PROFILE as CMB_PROFILE
from yirong.bankfiles.cmb import parse as parse_cmb
from yirong.bankfiles.csv_layout import HEADER as CSV_HEADER
from yirong.bankfiles.csv_layout import parse as parse_csv
from yirong.bankfiles.fields import decode_text
from yirong.bankfiles.icbc import PROFILE as ICBC_PROFILE
from yirong.bankfiles.icbc import parse as parse_icbc
from yirong.bankfiles.model import BankStatement
from yirong.bankfiles.mt940 import parse as parse_mt940
from yirong.bankfiles.tabular import HEADER_SEARCH_ROWS, OLE_MAGIC, ZIP_MAGIC, read_sheet
from yirong.errors import YirongError

FORMATS = ("camt053", "mt940", "cmb", "icbc", "csv")
_READERS: dict[str, Callable[[bytes], list[BankStatement]]] = {
    "camt053": parse_camt053,
    "mt940": parse_mt940,
    "cmb": parse_cmb,
    "icbc": parse_icbc,
    "csv": parse_csv,
}
_CAMT053 = re.compile(rb"camt\.053\.|<(?:\w+:)?BkToCstmrStmt\b")
_MT940_START = re.compile(r"^:20:", re.MULTILINE)
_MT940_TAGS = re.compile(r"^:(?:25|28C?|60[FM]|61|62[FM]):", re.MULTILINE)
_CSV_HEADER = ",".join(CSV_HEADER)


def parse_statements(
    content: bytes, *, filename: str = "", fmt: str = "auto"
) -> list[BankStatement]:
    """Every statement in the file, in file order, each proved; or a refusal
    (``statement_format_unknown``, ``statement_encoding_invalid``,
    ``statement_malformed``, ``statement_currency_not_cny``, ``statement_unbalanced``)."""
    if fmt == "auto":
        fmt = sniff(content, filename)
    reader = _READERS.get(fmt)
    if reader is None:
        raise YirongError("statement_format_unknown", format=fmt, formats=list(FORMATS))
    return reader(content)


def sniff(content: bytes, filename: str = "") -> str:
    """The layout of a file, from what it holds: camt.053 XML by its namespace or root,
    MT940 by its tags (in a SWIFT envelope or not), Yirong's CSV by its metadata or
    header, and a bank's export (CSV or XLSX) by its table's header cells.
    ``filename`` only settles an ICBC ``historydetail`` export whose header is damaged."""
    if content.startswith(ZIP_MAGIC):
        return _tabular(content, filename)
    if content.startswith(OLE_MAGIC):
        raise _unknown(filename, "a legacy .xls workbook: export or save it as .xlsx")
    head = content[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        if _CAMT053.search(content[:65536]):
            return "camt053"
        raise _unknown(filename, "XML, but not a camt.053 statement")
    text = decode_text(content[:65536], partial=True)
    enveloped = "{1:" in text[:512] and "{4:" in text
    if enveloped or (_MT940_START.search(text) and _MT940_TAGS.search(text)):
        return "mt940"
    first = next((row.strip() for row in text.splitlines() if row.strip()), "")
    if first.startswith("#") or first.startswith(_CSV_HEADER):
        return "csv"
    return _tabular(content, filename)


def _tabular(content: bytes, filename: str) -> str:
    try:
        rows = read_sheet(content, limit=HEADER_SEARCH_ROWS).rows
    except YirongError as error:
        if error.code != "statement_malformed":
            raise
        raise _unknown(filename, "not a table Yirong can read (" + error.message + ")") from None
    for profile in (ICBC_PROFILE, CMB_PROFILE):
        if profile.recognises(rows):
            return profile.format
    if filename.lower().rsplit("/", 1)[-1].startswith("historydetail"):
        return "icbc"
    raise _unknown(filename, "no known header row in the first rows")


def _unknown(filename: str, why: str) -> YirongError:
    return YirongError("statement_format_unknown", file=filename, reason=why)
