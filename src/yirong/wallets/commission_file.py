"""Reading a carrier's monthly commission file (佣金): ``agent,month,amount`` with
amounts in whole fen. Pure: the whole file is checked before anything is applied,
and every bad row is reported with its line number."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from yirong.errors import YirongError
from yirong.money import parse_fen

HEADER = ("agent", "month", "amount")
AMOUNT_ALIASES = ("amount", "amount_fen")
_AGENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class CommissionRow:
    line: int
    agent: str
    month: str  # YYYY-MM
    amount: int  # fen


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    code: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "code": self.code, "message": self.message}


def parse(content: bytes) -> list[CommissionRow]:
    """The file's rows, or ``commission_file_invalid`` listing every error."""
    errors: list[RowError] = []
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _invalid([RowError(0, "file_not_utf8", "The file is not UTF-8 text.")]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise YirongError("commission_file_empty")
    names = tuple(h.strip().lower() for h in header)
    if len(names) != 3 or names[:2] != HEADER[:2] or names[2] not in AMOUNT_ALIASES:
        raise _invalid(
            [
                RowError(
                    1,
                    "header_invalid",
                    f"The header must be 'agent,month,amount', not {','.join(header)!r}.",
                )
            ]
        )
    rows: list[CommissionRow] = []
    first_line: dict[tuple[str, str], int] = {}
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue  # blank lines are harmless
        row, error = _row(line, fields)
        if error is not None:
            errors.append(error)
            continue
        assert row is not None
        seen = first_line.setdefault((row.agent, row.month), line)
        if seen != line:
            errors.append(
                RowError(
                    line,
                    "duplicate_row",
                    f"Agent {row.agent} already has a {row.month} commission on line {seen}.",
                )
            )
            continue
        rows.append(row)
    if errors:
        raise _invalid(errors)
    if not rows:
        raise YirongError("commission_file_empty")
    return rows


def _row(line: int, fields: list[str]) -> tuple[CommissionRow | None, RowError | None]:
    if len(fields) != 3:
        return None, RowError(
            line,
            "wrong_column_count",
            f"Expected 3 columns (agent, month, amount), found {len(fields)}.",
        )
    agent, month, amount_text = (f.strip() for f in fields)
    if not _AGENT.match(agent):
        return None, RowError(
            line, "agent_invalid", f"{agent!r} is not an agent code (letters, digits, '-', '_')."
        )
    if not valid_month(month):
        return None, RowError(line, "month_invalid", f"{month!r} is not a month (YYYY-MM).")
    try:
        amount = parse_fen(amount_text)
    except YirongError as exc:
        return None, RowError(line, exc.code, f"{amount_text!r}: {exc.message}")
    return CommissionRow(line, agent, month, amount), None


def valid_month(text: str) -> bool:
    match = _MONTH.match(text)
    if match is None:
        return False
    return 2000 <= int(match.group(1)) <= 9999 and 1 <= int(match.group(2)) <= 12


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _invalid(errors: list[RowError]) -> YirongError:
    return YirongError("commission_file_invalid", errors=[e.as_dict() for e in errors])
