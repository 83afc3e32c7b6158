"""Yirong's own statement layout: UTF-8 CSV, one statement per file, for banks and tools
that can write it (and the simulated bank). Described for people in
``docs/statement-csv.md``.

Lines starting with ``#`` before the table are ``# key: value`` metadata:

* ``account`` (required) and ``account_name``;
* ``currency`` (required): ``CNY`` (人民币, RMB and 156 are read as CNY; nothing else);
* ``statement_id``: else ``<account>:<from>:<to>``;
* ``from``, ``to``: the period, ``YYYY-MM-DD``; else the first and last booking date;
* ``opening_balance_fen``, ``closing_balance_fen``: signed integers of fen; either may be
  left out when the lines print running balances.

Then the header row, exactly::

    booking_date,value_date,direction,amount_fen,counterparty_name,counterparty_account,
    counterparty_bank,memo,bank_serial,end_to_end_ref,virtual_account,balance_after_fen

optionally followed by ``booked_at,reversal``, and one row per line in booking order:
dates ``YYYY-MM-DD`` (an empty value date is the booking date), direction ``C`` (money in)
or ``D`` (money out), ``amount_fen`` a positive integer, ``balance_after_fen`` the signed
running balance or empty, ``booked_at`` ``HH:MM:SS`` or empty, ``reversal`` ``Y`` or empty.
Other fields are free text, quoted as CSV quotes (RFC 4180) when they hold a comma, a
quote or a line break.

Reading is built for volume (a million lines in a few seconds): rows without quotes are
split directly, and only quoted rows go through the ``csv`` module."""

from __future__ import annotations

import csv
import gc
import io
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import field, fields, make_dataclass
from datetime import date, time
from hashlib import sha256

from yirong.bankfiles.fields import account_number, malformed, refuse_wide_text
from yirong.bankfiles.model import BankLine, BankStatement, Direction
from yirong.bankfiles.validate import Draft, settle
from yirong.errors import YirongError

HEADER = (
    "booking_date",
    "value_date",
    "direction",
    "amount_fen",
    "counterparty_name",
    "counterparty_account",
    "counterparty_bank",
    "memo",
    "bank_serial",
    "end_to_end_ref",
    "virtual_account",
    "balance_after_fen",
)
OPTIONAL = ("booked_at", "reversal")
_DIRECTIONS = {"C": Direction.CREDIT, "D": Direction.DEBIT}

# A frozen dataclass sets each field through object.__setattr__, which is most of the
# cost of reading a million lines. Its unfrozen twin (same slots, so the same memory
# layout) is built with plain stores and then becomes a BankLine, frozen as any other.
_UnfrozenLine = make_dataclass(
    "_UnfrozenLine",
    [(f.name, f.type, field(default=f.default)) for f in fields(BankLine)],
    slots=True,
)
_FLAGS = {"": False, "N": False, "Y": True}
_SHARED = 4096


def parse(content: bytes) -> list[BankStatement]:
    with _collector_paused():
        return [_statement(content)]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector would walk every line read so far, again and again,
    while a million are read (none of them can be in a cycle): it waits until the end."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _statement(content: bytes) -> BankStatement:
    refuse_wide_text(content)
    records = _records(content)
    meta, header_number, header_row = _metadata(records)
    header = tuple(next(csv.reader([header_row])))
    if header not in (HEADER, HEADER + OPTIONAL):
        raise malformed(f"line {header_number}", "header", "not the documented header row")
    lines, numbers = _lines(records, len(header))
    return settle(
        Draft(
            format="csv",
            account_number=account_number(meta.get("account", "")),
            account_name=meta.get("account_name", ""),
            currency=meta.get("currency", ""),
            statement_id=meta.get("statement_id", ""),
            from_date=_meta_day(meta, "from"),
            to_date=_meta_day(meta, "to"),
            opening_balance=_meta_fen(meta, "opening_balance_fen"),
            closing_balance=_meta_fen(meta, "closing_balance_fen"),
            lines=lines,
            place=_places(numbers),
            where="file",
            numbered=True,
        )
    )


def _records(content: bytes) -> Iterator[tuple[int, str]]:
    """(file line number, text) one at a time: a million-line file is never held twice
    over as text and rows. Lines split at "\n" only (not at U+2028 and friends, which
    are text in a memo); a UTF-8 character never holds that byte, so decoding line by
    line reads what decoding the whole file would."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    for number, raw in enumerate(io.BytesIO(content), start=1):
        try:
            yield number, raw.decode("utf-8").removesuffix("\n")
        except UnicodeDecodeError:
            raise YirongError("statement_encoding_invalid", encoding="not UTF-8") from None


def _places(numbers: Sequence[int]) -> Callable[[int], str]:
    return lambda i: f"line {numbers[i]}"


def _metadata(records: Iterator[tuple[int, str]]) -> tuple[dict[str, str], int, str]:
    """The ``# key: value`` rows above the table, and the header row that ends them."""
    meta: dict[str, str] = {}
    for number, raw in records:
        row = raw.strip()
        if row and not row.startswith("#"):
            for key in ("account", "currency"):
                if not meta.get(key):
                    raise malformed("metadata", key, "required")
            return meta, number, raw
        if not row:
            continue
        key, colon, value = row[1:].partition(":")
        key = key.strip()
        if not colon or not key:
            raise malformed(f"line {number}", "metadata", "not '# key: value'", row)
        if key in meta:
            raise malformed(f"line {number}", key, "given twice")
        meta[key] = value.strip()
    for key in ("account", "currency"):
        if not meta.get(key):
            raise malformed("metadata", key, "required")
    raise malformed("file", "header", "no header row")


def _meta_day(meta: dict[str, str], key: str) -> date | None:
    text = meta.get(key, "")
    return _day(text, "metadata", key) if text else None


def _meta_fen(meta: dict[str, str], key: str) -> int | None:
    text = meta.get(key, "")
    return _signed(text, "metadata", key) if text else None


def _day(text: str, place: str, field: str) -> date:
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise malformed(place, field, "not a YYYY-MM-DD date", text)


def _signed(text: str, place: str, field: str) -> int:
    digits = text[1:] if text[:1] == "-" else text
    if not (digits.isascii() and digits.isdigit()):
        raise malformed(place, field, "not a whole number of fen", text)
    return int(text)


def _lines(  # noqa: PLR0915
    records: Iterator[tuple[int, str]], width: int
) -> tuple[list[BankLine], Sequence[int]]:
    """The table's lines and the file line each starts on; repeated composed identities
    are numbered here (``#2``...) so that the statement need not be walked again. This loop
    runs a million times in a bulk import: the common case is inline, the rest calls out.
    A statement names few counterparties many times: their name, account and bank are
    held once each (up to _SHARED of them), not once a line."""
    lines: list[BankLine] = []
    numbers = array("l")
    shared: dict[str, str] = {}
    days: dict[str, date] = {}
    seen: set[str] = set()
    repeats: dict[str, int] = {}
    directions = _DIRECTIONS
    booked_at: time | None = None
    reversal = False
    for number, raw in records:
        if '"' in raw:
            cells = next(csv.reader([_quoted_record(records, raw)]), [])
        else:
            cells = raw.removesuffix("\r").split(",")
        if len(cells) != width:
            if not raw.strip():
                continue
            raise malformed(f"line {number}", "columns", f"{len(cells)} fields, not {width}")
        if width > 12:
            booked_at, reversal = _extras(cells, number)
            cells = cells[:12]
        (booked_text, valued_text, way, amount_text, name, account, bank, memo, serial, e2e,
         virtual, after) = cells  # fmt: skip
        booked = days.get(booked_text)
        if booked is None:
            booked = days[booked_text] = _day(booked_text, f"line {number}", "booking_date")
        if valued_text and valued_text != booked_text:
            valued = days.get(valued_text) or _day(valued_text, f"line {number}", "value_date")
        else:
            valued = booked
        direction = directions.get(way)
        if direction is None:
            raise malformed(f"line {number}", "direction", "not C or D", way)
        if not (amount_text.isascii() and amount_text.isdigit()) or amount_text[0] == "0":
            raise malformed(f"line {number}", "amount_fen", "not a positive whole number of fen")
        amount = int(amount_text)
        balance = None
        if after:
            if not (after.isascii() and after.isdigit()):
                after = _negative(after, number)
            balance = int(after)
        if " " in account or "-" in account:
            account = account_number(account)
        if " " in virtual or "-" in virtual:
            virtual = account_number(virtual)
        if len(shared) < _SHARED:
            name = shared.setdefault(name, name)
            account = shared.setdefault(account, account)
            bank = shared.setdefault(bank, bank)
        if serial:
            identity = "s:" + serial
        else:  # line_identity's composition, inline: here it may run a million times
            clock = "" if booked_at is None else booked_at.isoformat()
            after = "" if balance is None else str(balance)
            printed = f"{booked_text}\x1f{clock}\x1f{way}\x1f{amount_text}\x1f{account}\x1f"
            identity = "c:" + sha256(f"{printed}{after}\x1f{memo}".encode()).hexdigest()[:32]
            if identity in seen:
                count = repeats[identity] = repeats.get(identity, 1) + 1
                identity = f"{identity}#{count}"
            else:
                seen.add(identity)
        line = _UnfrozenLine(
            booked, valued, direction, amount, identity, name, account, bank, memo, serial,
            e2e, virtual, balance, booked_at, reversal,
        )  # fmt: skip
        line.__class__ = BankLine
        lines.append(line)
        numbers.append(number)
    return lines, numbers


def _quoted_record(records: Iterator[tuple[int, str]], raw: str) -> str:
    """A record with quotes, joined across the line breaks inside its quoted fields."""
    while raw.count('"') % 2:
        following = next(records, None)
        if following is None:
            break
        raw += "\n" + following[1]
    return raw.removesuffix("\r")


def _negative(text: str, number: int) -> str:
    if not (text[0] == "-" and text[1:].isascii() and text[1:].isdigit()):
        raise malformed(f"line {number}", "balance_after_fen", "not a whole number of fen", text)
    return text


def _extras(cells: list[str], number: int) -> tuple[time | None, bool]:
    at_text, flag = cells[12], cells[13]
    booked_at = None
    if at_text:
        try:
            booked_at = time.fromisoformat(at_text)
        except ValueError:
            raise malformed(f"line {number}", "booked_at", "not HH:MM:SS", at_text) from None
    if flag not in _FLAGS:
        raise malformed(f"line {number}", "reversal", "not Y or empty", flag)
    return booked_at, _FLAGS[flag]


# ---------------------------------------------------------------- writing


def write(stmt: BankStatement) -> bytes:
    """The statement in this layout; ``booked_at,reversal`` only when a line has them."""
    out = io.StringIO()
    for key, value in (
        ("account", stmt.account_number),
        ("account_name", stmt.account_name),
        ("currency", stmt.currency),
        ("statement_id", stmt.statement_id),
        ("from", stmt.from_date.isoformat()),
        ("to", stmt.to_date.isoformat()),
        ("opening_balance_fen", str(stmt.opening_balance)),
        ("closing_balance_fen", str(stmt.closing_balance)),
    ):
        if "\n" in value or "\r" in value:
            raise ValueError(f"the {key} of a statement is one line of text")
        out.write(f"# {key}: {value}\n")
    extras = any(line.booked_at is not None or line.reversal for line in stmt.lines)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER + OPTIONAL if extras else HEADER)
    for line in stmt.lines:
        row = [
            line.booking_date.isoformat(),
            line.value_date.isoformat(),
            line.direction.value,
            str(line.amount),
            line.counterparty_name,
            line.counterparty_account,
            line.counterparty_bank,
            line.memo,
            line.bank_serial,
            line.end_to_end_ref,
            line.virtual_account,
            "" if line.balance_after is None else str(line.balance_after),
        ]
        if extras:
            row.append("" if line.booked_at is None else line.booked_at.isoformat())
            row.append("Y" if line.reversal else "")
        writer.writerow(row)
    return out.getvalue().encode()
