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
    key: tuple[str, ...]  # the columns that name a row
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
    funder: str
    kind: Kind
    day: date
    rows: tuple[tuple[str, ...], ...]

    @property
    def totals(self) -> tuple[int, ...]:
        at = [self.kind.columns.index(c) for c in self.kind.amounts]
        return tuple(sum(int(row[i]) for row in self.rows) for i in at)


def file_name(funder: str, kind: str, day: date) -> str:
    return f"YIRONG_{funder}_{kind}_{day:%Y%m%d}.txt"


def write(funder: str, kind: Kind, day: date, rows: Iterable[Sequence[object]]) -> bytes:
    """The file: its control record, the column names, then the rows (as given)."""
    body = [SEPARATOR.join(_cell(v) for v in row) for row in rows]
    made = FunderFile(funder, kind, day, tuple(tuple(line.split(SEPARATOR)) for line in body))
    head = SEPARATOR.join(
        ["H", funder, kind.name, f"{day:%Y%m%d}", str(len(body)), *map(str, made.totals)]
    )
    return "\n".join([head, SEPARATOR.join(kind.columns), *body, ""]).encode()


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
    rows = []
    width = len(layout.columns)
    amounts = {layout.columns.index(c) for c in layout.amounts}
    for number, line in enumerate(lines[2:], start=3):
        cells = tuple(line.split(SEPARATOR))
        if len(cells) != width:
            raise _malformed(f"line {number}", f"{len(cells)} fields, not {width}")
        for i in amounts:
            if not _whole(cells[i]):
                raise _malformed(f"line {number}", f"{layout.columns[i]} is not whole fen")
        rows.append(cells)
    found = FunderFile(funder, layout, day, tuple(rows))
    stated = control[4:]
    actual = [str(len(rows)), *map(str, found.totals)]
    if stated != actual:
        raise YirongError(
            "funder_file_control_mismatch",
            stated=SEPARATOR.join(stated),
            counted=SEPARATOR.join(actual),
        )
    return found


def _whole(text: str) -> bool:
    digits = text[1:] if text.startswith("-") else text
    return digits.isascii() and digits.isdigit()


def _malformed(place: str, why: str) -> YirongError:
    return YirongError("funder_file_malformed", place=place, reason=why)


def compare(ours: FunderFile, theirs: FunderFile) -> list[Difference]:
    """Every difference, row by row and field by field, in key order."""
    layout = ours.kind
    keys = [layout.columns.index(c) for c in layout.key]
    amounts = set(layout.amounts)

    def index(f: FunderFile) -> dict[str, tuple[str, ...]]:
        return {"/".join(row[i] for i in keys): row for row in f.rows}

    mine, yours = index(ours), index(theirs)
    found: list[Difference] = []
    for key in sorted(mine.keys() | yours.keys()):
        a, b = mine.get(key), yours.get(key)
        if b is None:
            found.append(Difference(DifferenceKind.MISSING_AT_FUNDER, key, "", "present", ""))
        elif a is None:
            found.append(Difference(DifferenceKind.MISSING_AT_PLATFORM, key, "", "", "present"))
        else:
            for column, x, y in zip(layout.columns, a, b, strict=True):
                if x != y:
                    kind = (
                        DifferenceKind.AMOUNT_DIFFERS
                        if column in amounts
                        else DifferenceKind.STATUS_DIFFERS
                    )
                    found.append(Difference(kind, key, column, x, y))
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
