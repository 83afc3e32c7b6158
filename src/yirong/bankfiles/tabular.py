"""Rows of a spreadsheet export (CSV in UTF-8 or GBK, or XLSX), as text cells: what the
Chinese banks' online-banking (网银) exports are. Above the table sit title rows
(``账号：755915678910802``, ``币种：人民币``, a date range); this module reads their
``key：value`` facts and finds the header row.

XLSX is read with openpyxl in read-only mode. A number cell arrives as a float; it is
turned back into the text Excel shows (the shortest repr, exact for amounts below 10^13
yuan) before any amount is read from it, so no arithmetic is ever done in float."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from yirong.bankfiles.fields import decode_text, malformed, parse_day

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls: not read, the banks also export .xlsx
_MAX_UNZIPPED = 256 * 1024 * 1024  # a statement workbook is megabytes; refuse zip bombs
HEADER_SEARCH_ROWS = 40


@dataclass(frozen=True, slots=True)
class Sheet:
    rows: list[list[str]]  # every row of the first worksheet, cells as stripped text

    def row_number(self, index: int) -> int:
        return index + 1


def read_sheet(content: bytes, *, limit: int | None = None) -> Sheet:
    """The first worksheet of an XLSX, or the rows of a CSV (comma or tab separated).
    ``limit`` reads only the first rows (enough to recognise a layout)."""
    if content.startswith(ZIP_MAGIC):
        return Sheet(_xlsx_rows(content, limit))
    text = decode_text(content)
    head = text[:8192]
    delimiter = "\t" if head.count("\t") > head.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append([clean(cell) for cell in row])
            if limit is not None and len(rows) >= limit:
                break
    except csv.Error as exc:
        raise malformed(f"row {len(rows) + 1}", "csv", str(exc)) from None
    return Sheet(rows)


def _xlsx_rows(content: bytes, limit: int | None) -> list[list[str]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise malformed("file", "xlsx", "not a readable XLSX workbook") from None
    if unzipped > _MAX_UNZIPPED:
        raise malformed("file", "xlsx", "the workbook unpacks to more than 256 MB")
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise malformed("file", "xlsx", "not a readable XLSX workbook") from None
    try:
        if not book.worksheets:
            raise malformed("file", "xlsx", "the workbook has no worksheet")
        rows: list[list[str]] = []
        for values in book.worksheets[0].iter_rows(values_only=True):
            rows.append([_cell_text(value) for value in values])
            if limit is not None and len(rows) >= limit:
                break
        return rows
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date | time):
        return value.isoformat()
    return clean(str(value))


def clean(cell: str) -> str:
    """A cell without padding or a spreadsheet's text guard (``="0123"``, ``'0123``,
    ``0123\\t``: exports keep long numbers from being shown as 7.56E+14 that way)."""
    cleaned = cell.strip(" \t\r\n\u3000\ufeff")
    if cleaned.startswith('="') and cleaned.endswith('"'):
        cleaned = cleaned[2:-1].strip()
    if cleaned.startswith("'"):
        cleaned = cleaned[1:].strip()
    return cleaned


def header_name(cell: str) -> str:
    """A header cell compared by name: no spaces, ASCII brackets, no ``(元)`` unit, no
    required-field star."""
    name = "".join(cell.split()).replace("（", "(").replace("）", ")").strip("*")
    for unit in ("(元)", "(人民币元)", "(RMB)"):
        name = name.removesuffix(unit)
    return name


def find_header(
    sheet: Sheet, required: Sequence[str], *, any_of: Sequence[Sequence[str]] = ()
) -> int:
    """The index of the header row: the first of the top rows naming every ``required``
    column and one name of each ``any_of`` group. A missing column is refused by name."""
    wanted = [(name,) for name in required] + [tuple(group) for group in any_of]
    best: tuple[int, list[tuple[str, ...]]] | None = None
    for index, row in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        names = {header_name(cell) for cell in row if cell}
        missing = [group for group in wanted if not names.intersection(group)]
        if not missing:
            return index
        if len(missing) < len(wanted) and (best is None or len(missing) < len(best[1])):
            best = (index, missing)
    if best is None:
        raise malformed("header", "header", "no header row: the table's columns are not named")
    index, missing = best
    raise malformed(
        f"row {sheet.row_number(index)}",
        missing[0][0],
        "a required column is missing: " + ", ".join(" or ".join(group) for group in missing),
    )


# ---------------------------------------------------------------- title rows

TITLE_KEYS: dict[str, tuple[str, ...]] = {
    "account_name": ("账户名称", "账号名称", "帐户名称", "帐号名称", "账户名", "户名", "单位名称"),
    "account": ("账号", "帐号", "账户", "帐户", "卡号"),
    "currency": ("币种", "货币"),
    "from": ("起始日期", "开始日期", "起始日"),
    "to": ("终止日期", "结束日期", "截止日期", "终止日"),
    "period": ("起止日期", "查询日期", "交易日期", "日期范围"),  # read as a range below
}
_KEY_OF = {name: key for key, names in TITLE_KEYS.items() for name in names}
_KEYS_RE = re.compile("(" + "|".join(sorted(_KEY_OF, key=len, reverse=True)) + r")\s*[:：]\s*")
_DAY_TEXT = r"\d{4}(?:\d{4}|[-/.年]\d{1,2}[-/.月]\d{1,2}日?)"
_RANGE_RE = re.compile(rf"({_DAY_TEXT})(?:\s*(?:至|到|~|～|—|－)\s*|\s+-{{1,2}}\s+)({_DAY_TEXT})")


@dataclass(frozen=True, slots=True)
class Titles:
    account: str = ""
    account_name: str = ""
    currency: str = ""
    from_date: date | None = None
    to_date: date | None = None


def read_titles(rows: Sequence[Sequence[str]]) -> Titles:
    """The facts printed above the table: ``key：value`` in a cell (several to a cell
    allowed), or a key cell followed by its value cell; a date range anywhere."""
    facts: dict[str, str] = {}
    for row in rows:
        cells = [cell for cell in row if cell]
        for n, cell in enumerate(cells):
            bare = header_name(cell).rstrip(":：")
            if bare in _KEY_OF and n + 1 < len(cells) and _KEYS_RE.search(cells[n + 1]) is None:
                facts.setdefault(_KEY_OF[bare], cells[n + 1])
                continue
            found = list(_KEYS_RE.finditer(cell))
            for k, match in enumerate(found):
                end = found[k + 1].start() if k + 1 < len(found) else len(cell)
                value = cell[match.end() : end].strip(" ,，;；\t")
                if value:
                    facts.setdefault(_KEY_OF[match.group(1)], value)
        if "from" not in facts or "to" not in facts:
            span = _RANGE_RE.search(" ".join(cells))
            if span is not None:
                facts.setdefault("from", span.group(1))
                facts.setdefault("to", span.group(2))
    return Titles(
        account=facts.get("account", ""),
        account_name=facts.get("account_name", ""),
        currency=facts.get("currency", ""),
        from_date=_title_day(facts.get("from"), "起始日期"),
        to_date=_title_day(facts.get("to"), "终止日期"),
    )


def _title_day(text: str | None, field: str) -> date | None:
    if not text:
        return None
    span = _RANGE_RE.search(text)
    return parse_day(span.group(1) if span else text, place="title rows", field=field)[0]
