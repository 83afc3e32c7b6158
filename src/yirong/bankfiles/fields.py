"""Reading one printed field of a statement: its text encoding, an amount in yuan, a
date, a time, an account number, a currency. Each refusal names the place (line, row or
element) and the field, so that an operator can find it in the file."""

from __future__ import annotations

import re
from datetime import date, time
from decimal import Decimal, InvalidOperation

from yirong.errors import YirongError

_UTF8_BOM = b"\xef\xbb\xbf"
# UTF-32 before UTF-16: the UTF-32 LE mark begins with the UTF-16 LE one.
_FOREIGN_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def malformed(place: str, field: str, reason: str, value: object = None) -> YirongError:
    details: dict[str, object] = {"place": place, "field": field, "reason": reason}
    if value is not None:
        details["value"] = str(value)[:120]
    return YirongError("statement_malformed", f"{place}, {field}: {reason}", **details)


def refuse_wide_text(content: bytes) -> None:
    """UTF-16 or UTF-32, told by a byte-order mark or by NUL bytes (which text in UTF-8
    or GBK never holds), is refused before anything reads it."""
    for bom, name in _FOREIGN_BOMS:
        if content.startswith(bom):
            raise YirongError("statement_encoding_invalid", encoding=name)
    if b"\x00" in content:
        raise YirongError("statement_encoding_invalid", encoding="binary, UTF-16 or UTF-32")


def decode_text(content: bytes, *, partial: bool = False) -> str:
    """UTF-8 (with or without BOM), else GBK/GB18030 (Chinese exports); nothing else.
    A NUL character means UTF-16 or binary: real statements never carry one.
    ``partial``: the content is the head of a file, perhaps cut inside a character."""
    refuse_wide_text(content)
    if content.startswith(_UTF8_BOM):
        content = content[len(_UTF8_BOM) :]
    text = _decoded(content, "utf-8", partial) or _decoded(content, "gb18030", partial)
    if text is None:
        raise YirongError("statement_encoding_invalid", encoding="neither UTF-8 nor GBK")
    return text


def _decoded(content: bytes, encoding: str, partial: bool) -> str | None:
    try:
        return content.decode(encoding)
    except UnicodeDecodeError as exc:
        if partial and exc.start >= len(content) - 3:
            return content[: exc.start].decode(encoding, errors="ignore")
        return None


_YUAN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_EMPTY_AMOUNT = frozenset(("", "-", "--", "—"))


def yuan_to_fen(text: str, *, place: str, field: str) -> int | None:
    """A printed yuan amount (``"1,234.56"``, ``"1234.5"``, ``"¥100"``, ``"-12.00"``) as
    signed fen; ``None`` for an empty cell (``""`` or ``"-"``). More than two decimals is
    refused: CNY has fen and no smaller unit."""
    cleaned = text.strip().lstrip("¥￥").replace(",", "").replace(" ", "")
    if cleaned in _EMPTY_AMOUNT:
        return None
    if not _YUAN.fullmatch(cleaned):
        raise malformed(place, field, "not an amount", text)
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise malformed(place, field, "not an amount", text) from None
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise malformed(place, field, "more than two decimals", text)
    return int(amount * 100)


def decimal_to_fen(amount: Decimal, *, place: str, field: str) -> int:
    """A library's Decimal amount as fen, exactly."""
    fen = amount * 100
    if not fen.is_finite() or fen != fen.to_integral_value():
        raise malformed(place, field, "more than two decimals", amount)
    return int(fen)


_DAY = re.compile(
    r"(?P<y>\d{4})(?:(?P<m>\d{2})(?P<d>\d{2})|[-/.年](?P<m2>\d{1,2})[-/.月](?P<d2>\d{1,2})日?)"
    r"(?:[ T]+(?P<rest>.*))?"
)


def parse_day(text: str, *, place: str, field: str) -> tuple[date, str]:
    """``20260105``, ``2026-01-05``, ``2026/1/5``, ``2026年1月5日``, optionally followed by a
    time; returns the date and what followed it (the time text, or "")."""
    found = _DAY.fullmatch(text.strip())
    if found is None:
        raise malformed(place, field, "not a date", text)
    month = found["m"] or found["m2"]
    day = found["d"] or found["d2"]
    try:
        return date(int(found["y"]), int(month), int(day)), (found["rest"] or "").strip()
    except ValueError:
        raise malformed(place, field, "no such day", text) from None


_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?|(\d{2})(\d{2})(\d{2})?")


def parse_clock(text: str, *, place: str, field: str) -> time | None:
    """``09:30:01``, ``9:30``, ``093001`` (``93001`` when a spreadsheet dropped the leading
    zero), or a date and time together; ``None`` when empty."""
    cleaned = text.strip()
    if not cleaned:
        return None
    if " " in cleaned or "T" in cleaned or _DAY.fullmatch(cleaned):
        _, cleaned = parse_day(cleaned, place=place, field=field)
        if not cleaned:
            return None
    if cleaned.isdigit() and len(cleaned) == 5:
        cleaned = "0" + cleaned
    found = _CLOCK.fullmatch(cleaned)
    if found is None:
        raise malformed(place, field, "not a time of day", text)
    hour, minute, second, fraction, h2, m2, s2 = found.groups()
    try:
        return time(
            int(hour or h2),
            int(minute or m2),
            int(second or s2 or 0),
            int((fraction or "0").ljust(6, "0")),
        )
    except ValueError:
        raise malformed(place, field, "no such time of day", text) from None


def account_number(text: str) -> str:
    """An account number as printed, without spaces, dashes or a spreadsheet's text
    guards (``="755..."``, a leading apostrophe or tab)."""
    cleaned = text.strip()
    if cleaned.startswith('="') and cleaned.endswith('"'):
        cleaned = cleaned[2:-1]
    cleaned = cleaned.lstrip("'")
    return "".join(ch for ch in cleaned if ch not in " -\t\u3000")


_CNY = frozenset(("CNY", "RMB", "156", "人民币", "人民币元", "元"))


def currency_code(text: str, *, place: str) -> str:
    """The statement's currency, which must be the yuan: 人民币, RMB, CNY and 156 (its ISO
    number) all mean CNY; anything else is refused."""
    cleaned = text.strip().upper()
    if cleaned not in _CNY:
        raise YirongError("statement_currency_not_cny", currency=text.strip(), place=place)
    return "CNY"
