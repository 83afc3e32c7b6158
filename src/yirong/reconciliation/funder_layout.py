"""The daily files exchanged with each funder (助贷对账文件), as rules (no database).

Documented in ``docs/funder-files.md``. A file is UTF-8 text, one record a line
("\\n"), fields separated by ``|`` (no field ever holds one: references, codes, dates
and whole fen). The first line is the **control record**::

    H|<funder>|<kind>|<YYYYMMDD>|<rows>|<total of each amount column>...

the second names the columns, and every line after is one row. A sibling file named
as the file plus ``.ok`` says it is complete: it holds ``<rows>|<sha256 of the file>``.

Kinds (``KINDS``): ``LOANS``, the loan book at the end of the day, one row per drawdown
still owing; ``REPAYMENTS``, the day's repayments, one row per drawdown a repayment
paid, with its split and the platform's share; ``PAYOUTS``, the day's payouts to the
funder.

Comparing the funder's file with ours lists every difference: a row missing on either
side, or a field that differs (each field its own difference)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from yirong.errors import YirongError

SEPARATOR = "|"


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # the columns that name a row: the first ones
    amounts: tuple[str, ...]  # whole-fen columns, totalled in the control record


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "LOANS",
            (
                "order_ref",
                "agent",
                "principal_fen",
                "interest_due_fen",
                "penalty_due_fen",
                "status",
                "days_past_due",
                "due_date",
            ),
            ("order_ref",),
            ("principal_fen", "interest_due_fen", "penalty_due_fen"),
        ),
        Kind(
            "REPAYMENTS",
            (
                "repayment_id",
                "order_ref",
                "penalty_fen",
                "interest_fen",
                "principal_fen",
                "share_fen",
            ),
            ("repayment_id", "order_ref"),
            ("penalty_fen", "interest_fen", "principal_fen", "share_fen"),
        ),
        Kind(
            "PAYOUTS",
            ("payment_ref", "amount_fen", "status", "instructed_on"),
            ("payment_ref",),
            ("amount_fen",),
        ),
    )
}


class DifferenceKind(StrEnum):
    MISSING_AT_FUNDER = "missing_at_funder"  # in our file, not in theirs
    MISSING_AT_PLATFORM = "missing_at_platform"  # in theirs, not in ours
    AMOUNT_DIFFERS = "amount_differs"
    STATUS_DIFFERS = "status_differs"  # any field that is not an amount


@dataclass(frozen=True, slots=True)
class Difference:
    kind: DifferenceKind
    key: str  # the row's key, its key columns joined by "/"
    field: str  # the column that differs ("" when a row is missing)
    ours: str
    theirs: str


@dataclass(frozen=True, slots=True)
class FunderFile:
    """A proved file: its rows kept as the lines they were (a million-row loan book is
    a million strings, not a million tuples of fields), and the totals they add up to."""

    funder: str
    kind: Kind
    day: date
    lines: list[str]
    totals: tuple[int, ...]


def file_name(funder: str, kind: str, day: date) -> str:
    return f"YIRONG_{funder}_{kind}_{day:%Y%m%d}.txt"


def write(funder: str, kind: Kind, day: date, rows: Iterable[Sequence[object]]) -> bytes:
    """The file: its control record, the column names, then the rows (as given)."""
    return write_lines(funder, kind, day, (SEPARATOR.join(_cell(v) for v in row) for row in rows))


def write_lines(funder: str, kind: Kind, day: date, lines: Iterable[str]) -> bytes:
    """The file from its rows already written as lines (a loan book of a million rows
    is formatted where it is read); each is proved as a funder's would be."""
    body = list(lines)
    return write_proved(funder, kind, day, body, _proved_totals(kind, body, first_line=3))


def write_proved(
    funder: str, kind: Kind, day: date, body: list[str], totals: tuple[int, ...]
) -> bytes:
    """The file from lines its writer vouches for, with their amounts' totals."""
    head = SEPARATOR.join(
        ["H", funder, kind.name, f"{day:%Y%m%d}", str(len(body)), *map(str, totals)]
    )
    return "\n".join([head, SEPARATOR.join(kind.columns), *body, ""]).encode()


def _row_pattern(kind: Kind) -> re.Pattern[str]:
    """One row of ``kind``: its fields (none holding the separator), amounts whole fen
    (ASCII digits, maybe a minus), each amount a group."""
    fields = [r"(-?[0-9]+)" if column in kind.amounts else r"[^|\n]*" for column in kind.columns]
    return re.compile(r"\|".join(fields))


_ROWS = {name: _row_pattern(kind) for name, kind in KINDS.items()}


def _proved_totals(kind: Kind, rows: Sequence[str], *, first_line: int) -> tuple[int, ...]:
    """Each row proved against the layout; the amount columns' totals."""
    pattern = _ROWS[kind.name]
    totals = [0] * len(kind.amounts)
    width = len(totals)
    for number, row in enumerate(rows, start=first_line):
        found = pattern.fullmatch(row)
        if found is None:
            raise _malformed(f"line {number}", _why(kind, row))
        for n in range(width):
            totals[n] += int(found.group(n + 1))
    return tuple(totals)


def _why(kind: Kind, row: str) -> str:
    cells = row.split(SEPARATOR)
    if len(cells) != len(kind.columns):
        return f"{len(cells)} fields, not {len(kind.columns)}"
    for column, value in zip(kind.columns, cells, strict=True):
        if column in kind.amounts and not _whole(value):
            return f"{column} is not whole fen"
    return "a field holds a line break"


def ok_marker(content: bytes) -> bytes:
    """The ``.ok`` file's content: the row count and the file's SHA-256."""
    rows = max(content.count(b"\n") - 2, 0)
    return f"{rows}|{hashlib.sha256(content).hexdigest()}\n".encode()


def _cell(value: object) -> str:
    text = "" if value is None else value.isoformat() if isinstance(value, date) else str(value)
    if SEPARATOR in text or "\n" in text:
        raise ValueError(f"a funder file's field holds no '|' or line break: {text!r}")
    return text


def read(content: bytes, ok: bytes | None, *, funder: str, kind: str, day: date) -> FunderFile:
    """A funder's file, proved: its ``.ok`` marker present and matching, its control
    record naming this funder, kind and day, its row count and totals those of its
    rows. Refusals: ``funder_file_not_complete`` (no or wrong ``.ok``),
    ``funder_file_malformed``, ``funder_file_other_funder``, ``funder_file_other_date``,
    ``funder_file_other_kind``, ``funder_file_control_mismatch``."""
    if ok is None:
        raise YirongError("funder_file_not_complete", reason="no .ok marker beside the file")
    if ok.strip() != ok_marker(content).strip():
        raise YirongError(
            "funder_file_not_complete", reason="the .ok marker does not match the file"
        )
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("file", "not UTF-8") from None
    if "\r\n" in text:  # written on Windows: the same lines
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) < 2:
        raise _malformed("file", "no control record and column names")
    control = lines[0].split(SEPARATOR)
    if len(control) < 5 or control[0] != "H":
        raise _malformed("line 1", "not a control record (H|funder|kind|date|rows|totals...)")
    if control[1] != funder:
        raise YirongError("funder_file_other_funder", expected=funder, found=control[1])
    if control[2] != kind:
        raise YirongError("funder_file_other_kind", expected=kind, found=control[2])
    if control[3] != f"{day:%Y%m%d}":
        raise YirongError("funder_file_other_date", expected=f"{day:%Y%m%d}", found=control[3])
    layout = KINDS[kind]
    if tuple(lines[1].split(SEPARATOR)) != layout.columns:
        raise _malformed("line 2", "not the column names of " + kind)
    rows = lines[2:]
    del lines
    totals = _proved_totals(layout, rows, first_line=3)
    stated = control[4:]
    actual = [str(len(rows)), *map(str, totals)]
    if stated != actual:
        raise YirongError(
            "funder_file_control_mismatch",
            stated=SEPARATOR.join(stated),
            counted=SEPARATOR.join(actual),
        )
    return FunderFile(funder, layout, day, rows, totals)


def _whole(text: str) -> bool:
    digits = text[1:] if text.startswith("-") else text
    return digits.isascii() and digits.isdigit()


def _malformed(place: str, why: str) -> YirongError:
    return YirongError("funder_file_malformed", place=place, reason=why)


def compare(ours: FunderFile, theirs: FunderFile) -> list[Difference]:
    """Every difference, row by row and field by field, in key order. Both files'
    lines are sorted as they are and walked together (a merge), and only the lines
    that differ are split into fields. (The key columns lead every row and hold no
    separator, so lines sort as their keys followed by the separator do.) A key given
    twice in a file is compared once, its later lines listed as rows the other side
    lacks."""
    layout = ours.kind
    width = len(layout.key)

    def key(line: str) -> str:
        end = -1
        for _ in range(width):
            end = line.find(SEPARATOR, end + 1)
        return line[: end + 1] if end >= 0 else line + SEPARATOR

    def shown(k: str) -> str:
        return k[:-1].replace(SEPARATOR, "/")

    mine = sorted(ours.lines)
    yours = sorted(theirs.lines)
    amounts = set(layout.amounts)
    found: list[Difference] = []
    i = j = 0
    while i < len(mine) or j < len(yours):
        if i < len(mine) and j < len(yours) and mine[i] == yours[j]:  # the common case
            i += 1
            j += 1
            continue
        a = key(mine[i]) if i < len(mine) else None
        b = key(yours[j]) if j < len(yours) else None
        if b is None or (a is not None and a < b):
            found.append(
                Difference(DifferenceKind.MISSING_AT_FUNDER, shown(str(a)), "", "present", "")
            )
            i += 1
        elif a is None or b < a:
            found.append(
                Difference(DifferenceKind.MISSING_AT_PLATFORM, shown(b), "", "", "present")
            )
            j += 1
        else:
            if mine[i] != yours[j]:
                cells = zip(
                    layout.columns,
                    mine[i].split(SEPARATOR),
                    yours[j].split(SEPARATOR),
                    strict=True,
                )
                for column, x, y in cells:
                    if x != y:
                        kind = (
                            DifferenceKind.AMOUNT_DIFFERS
                            if column in amounts
                            else DifferenceKind.STATUS_DIFFERS
                        )
                        found.append(Difference(kind, shown(a), column, x, y))
            i += 1
            j += 1
    return found


def split_share(share: int, weights: Sequence[int]) -> list[int]:
    """A repayment's share apportioned to the drawdowns it paid, in proportion to the
    interest and penalty each paid, rounded down, the fen left over going to the last
    (so that the parts add up to the share booked)."""
    total = sum(weights)
    if not weights:
        return []
    if total == 0:
        return [0] * (len(weights) - 1) + [share]
    parts = [share * w // total for w in weights]
    parts[-1] += share - sum(parts)
    return parts
