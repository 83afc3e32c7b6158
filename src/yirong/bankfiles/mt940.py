"""SWIFT MT940 customer statements, read with the ``mt-940`` library. A file holds one
or more messages, each perhaps inside a SWIFT envelope (``{1:...}{2:...}{4:`` ... ``-}``)
or separated by a ``-`` line.

Read: :20: and :28C: (the statement id is ``:20:/:28C:``); :25: the account (a leading
``BIC/`` dropped); :60F:/:60M: the opening balance and its date (the period's first day);
:61: lines: value date, entry date (the booking date; the value date when absent), C, D,
RC, RD (a reversal of a credit is money out), amount, customer reference (the end-to-end
reference, unless NONREF), ``//`` bank reference (the serial), supplementary details;
:86: the narrative, into the memo. A narrative with structured subfields gives the
counterparty: ``/NAME/``, ``/ACCT/``, ``/BANK/`` or ``/BIC/``, ``/EREF/`` and ``/REMI/``
(the memo), or the German ``?20``-``?29`` (purpose), ``?30`` (bank), ``?31`` (account),
``?32``/``?33`` (name); :62F:/:62M: the closing balance and its date (the period's last).

MT940 prints no running balance, no time of day, no sub-account and no account name."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import mt940 as swift

from yirong.bankfiles.fields import (
    account_number,
    currency_code,
    decimal_to_fen,
    decode_text,
    malformed,
)
from yirong.bankfiles.model import BankLine, BankStatement, Direction, identified
from yirong.bankfiles.validate import Draft, settle

OPTIONS = swift.Options(
    applicant_iban=True,
    merge_keeps_values=True,
    reversal_sign=True,
    case_insensitive_marks=True,
    unbounded_details=True,
    non_swift_free_text=True,
    strip_bom=True,
)
NARRATIVE_WIDTH = 65
CODES = ("NAME", "ACCT", "BANK", "BIC", "EREF", "REMI")
_CODE_RE = re.compile(r"/(" + "|".join(CODES) + r")/")
_ENVELOPE = re.compile(r"\{4:[ \t]*\n(.*?)\n-\}", re.DOTALL)
_MESSAGE_START = re.compile(r"^:20:", re.MULTILINE)
_LINE_TAG = re.compile(r"^:61:", re.MULTILINE)
_BIC_PREFIX = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?/")
_OPENING = ("final_opening_balance", "opening_balance", "intermediate_opening_balance")
_CLOSING = ("final_closing_balance", "closing_balance", "intermediate_closing_balance")
_MARKS = {
    "C": (Direction.CREDIT, False),
    "D": (Direction.DEBIT, False),
    "RC": (Direction.DEBIT, True),  # reversal of a credit: the money goes back out
    "RD": (Direction.CREDIT, True),
}


@dataclass(frozen=True, slots=True)
class _Message:
    text: str
    first_line: int  # where it starts in the file


def parse(content: bytes) -> list[BankStatement]:
    text = decode_text(content).replace("\r\n", "\n").replace("\r", "\n")
    messages = _messages(text)
    if not messages:
        raise malformed("file", ":20:", "no MT940 message (no :20: tag)")
    return [_statement(message, n) for n, message in enumerate(messages, start=1)]


def _messages(text: str) -> list[_Message]:
    blocks = [(m.group(1), m.start(1)) for m in _ENVELOPE.finditer(text)] or [(text, 0)]
    messages: list[_Message] = []
    for block, offset in blocks:
        starts = [m.start() for m in _MESSAGE_START.finditer(block)]
        for k, start in enumerate(starts):
            end = starts[k + 1] if k + 1 < len(starts) else len(block)
            first_line = text.count("\n", 0, offset + start) + 1
            messages.append(_Message(block[start:end], first_line))
    return messages


def _statement(message: _Message, n: int) -> BankStatement:
    where = f"message {n} (line {message.first_line})"
    try:
        parsed = swift.parse(message.text, options=OPTIONS)
    except (RuntimeError, ValueError, KeyError, IndexError, TypeError, InvalidOperation) as exc:
        raise malformed(where, _failed_tag(exc), "a field does not follow MT940") from None
    data = parsed.data
    opening = _balance(data, _OPENING, where, ":60F:")
    closing = _balance(data, _CLOSING, where, ":62F:")
    tag_lines = [
        message.first_line + message.text.count("\n", 0, m.start())
        for m in _LINE_TAG.finditer(message.text)
    ]
    places = [
        f":61: at line {tag_lines[k] if k < len(tag_lines) else message.first_line}"
        for k in range(len(parsed.transactions))
    ]
    lines = [_line(tx.data, places[k]) for k, tx in enumerate(parsed.transactions)]
    reference = str(data.get("transaction_reference") or "").strip()
    number = str(data.get("statement_number") or "").strip()
    sequence = str(data.get("sequence_number") or "").strip()
    statement_id = "/".join(part for part in (reference, number, sequence) if part)
    raw_account = str(data.get("account_identification") or "").strip()
    return settle(
        Draft(
            format="mt940",
            account_number=account_number(_BIC_PREFIX.sub("", raw_account)),
            account_name="",
            currency=opening[2] if opening else closing[2] if closing else "",
            statement_id=statement_id,
            from_date=opening[1] if opening else None,
            to_date=closing[1] if closing else None,
            opening_balance=opening[0] if opening else None,
            closing_balance=closing[0] if closing else None,
            lines=lines,
            place=places.__getitem__,
            where=where,
        )
    )


def _failed_tag(exc: BaseException) -> str:
    for arg in exc.args:
        tag_id = getattr(arg, "id", None)
        if tag_id is not None:
            return f":{tag_id}:"
    return "message"


def _balance(
    data: Mapping[str, Any], keys: tuple[str, ...], where: str, tag: str
) -> tuple[int, Any, str] | None:
    for key in keys:
        balance = data.get(key)
        if balance is None:
            continue
        amount = getattr(balance, "amount", None)
        value = getattr(amount, "amount", None)
        if not isinstance(value, Decimal):
            raise malformed(where, tag, "no amount")
        currency = str(getattr(amount, "currency", "") or "")
        currency_code(currency, place=f"{where} {tag}")
        return decimal_to_fen(value, place=where, field=tag), _plain(balance.date), currency
    return None


def _plain(day: Any) -> date:
    """The library's Date subclass as a plain date."""
    return date(day.year, day.month, day.day)


def _line(data: Mapping[str, Any], place: str) -> BankLine:
    mark = str(data.get("status") or "").upper()
    if mark not in _MARKS:
        raise malformed(place, "debit/credit mark", "not C, D, RC or RD", mark)
    direction, reversal = _MARKS[mark]
    value = getattr(data.get("amount"), "amount", None)
    if not isinstance(value, Decimal):
        raise malformed(place, "amount", "no amount")
    amount = decimal_to_fen(abs(value), place=place, field="amount")
    if amount <= 0:
        raise malformed(place, "amount", "a line moves no money", value)
    valued = _plain(data["date"])
    booked = _plain(data.get("entry_date") or valued)
    narrative = _narrative(data)
    customer_ref = str(data.get("customer_reference") or "").strip()
    if customer_ref.upper() == "NONREF":
        customer_ref = ""
    bank_ref = str(data.get("bank_reference") or "").strip()
    if bank_ref.upper() == "NONREF":
        bank_ref = ""
    memo_parts = [str(data.get("extra_details") or "").strip(), narrative.memo]
    memo = " | ".join(part for part in memo_parts if part)
    return identified(
        BankLine(
            booking_date=booked,
            value_date=valued,
            direction=direction,
            amount=amount,
            identity="",
            counterparty_name=narrative.name,
            counterparty_account=narrative.account,
            counterparty_bank=narrative.bank,
            memo=memo,
            bank_serial=bank_ref,
            end_to_end_ref=narrative.end_to_end_ref or customer_ref,
            reversal=reversal,
        )
    )


@dataclass(frozen=True, slots=True)
class _Narrative:
    memo: str = ""
    name: str = ""
    account: str = ""
    bank: str = ""
    end_to_end_ref: str = ""


def _narrative(data: Mapping[str, Any]) -> _Narrative:
    raw = data.get("transaction_details")
    if isinstance(raw, str):
        return _read_narrative(raw)
    # The library already took a German structured narrative (?20...) apart.
    e2e = str(data.get("end_to_end_reference") or "").strip()
    return _Narrative(
        memo=str(data.get("purpose") or data.get("posting_text") or "").strip(),
        name=str(data.get("applicant_name") or "").strip(),
        account=account_number(str(data.get("applicant_iban") or "")),
        bank=str(data.get("applicant_bin") or "").strip(),
        end_to_end_ref="" if e2e == "NOTPROVIDED" else e2e,
    )


def _read_narrative(raw: str) -> _Narrative:
    rows = [row.rstrip() for row in raw.split("\n")]
    if _CODE_RE.match(rows[0]):
        # Structured subfields run on across the 65-character lines.
        return _subfields("".join(rows))
    text = rows[0]
    for previous, row in itertools.pairwise(rows):
        text += row if len(previous) >= NARRATIVE_WIDTH else " " + row.strip()
    return _Narrative(memo=text.strip())


def _subfields(text: str) -> _Narrative:
    values: dict[str, list[str]] = {}
    pieces = _CODE_RE.split(text)
    for code, value in zip(pieces[1::2], pieces[2::2], strict=True):
        values.setdefault(code, []).append(value.strip())

    def first(*codes: str) -> str:
        return next((v for c in codes for v in values.get(c, []) if v), "")

    return _Narrative(
        memo=" | ".join(v for v in values.get("REMI", []) if v),
        name=first("NAME"),
        account=account_number(first("ACCT")),
        bank=first("BANK", "BIC"),
        end_to_end_ref=first("EREF"),
    )
