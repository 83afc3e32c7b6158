"""A bank's spreadsheet export read through its profile: which header names mean which
field of a line. Columns are found by name, in any order; optional ones may be missing.
Opening and closing balances come from the running balance (余额) every row prints.

A negative amount (红字, a reversal printed in the column of the entry it reverses)
moves money the other way: a negative 贷方 amount is money out, marked as a reversal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from yirong.bankfiles.fields import (
    account_number,
    currency_code,
    malformed,
    parse_clock,
    parse_day,
    yuan_to_fen,
)
from yirong.bankfiles.model import BankLine, BankStatement, Direction, identified
from yirong.bankfiles.tabular import Sheet, Titles, find_header, header_name, read_titles
from yirong.bankfiles.validate import Draft, settle

_YES = frozenset(("Y", "YES", "是", "*", "冲", "冲账", "冲帐", "1", "R", "TRUE", "T"))
_NO = frozenset(("", "N", "NO", "否", "0", "-", "FALSE", "F", "正常"))
_DEBIT_MARKS = frozenset(("借", "借方", "D", "DR", "支出", "出"))
_CREDIT_MARKS = frozenset(("贷", "贷方", "C", "CR", "收入", "入"))
_FOOTERS = ("合计", "总计", "小计", "累计", "本页", "共计", "共", "总笔数", "说明", "注")


@dataclass(frozen=True, slots=True)
class Profile:
    """One export layout. ``columns`` maps a field to the header names it goes by; the
    fields are date, time, value_date, debit, credit, balance, direction_mark, serial,
    end_to_end_ref, order_ref, counterparty_name, counterparty_account,
    counterparty_bank, reversal, virtual_account, account, account_name, currency."""

    format: str
    columns: Mapping[str, tuple[str, ...]]
    memo_columns: tuple[str, ...]  # each its own column, joined " | " in this order
    required: tuple[str, ...]  # fields whose column must be present
    signature: tuple[str, ...] = field(default=())  # header names that identify the layout

    def recognises(self, rows: Sequence[Sequence[str]]) -> bool:
        for row in rows:
            names = {header_name(cell) for cell in row if cell}
            if names.intersection(self.signature):
                return True
        return False


def read_profile(sheet: Sheet, profile: Profile) -> list[BankStatement]:
    """Every statement in the sheet: one per account (a multi-account export is split by
    its account column), each proved by ``settle``."""
    required_names = [
        profile.columns[f][0] for f in profile.required if len(profile.columns[f]) == 1
    ]
    any_of = [profile.columns[f] for f in profile.required if len(profile.columns[f]) > 1]
    header_at = find_header(sheet, required_names, any_of=any_of)
    titles = read_titles(sheet.rows[:header_at])
    at = _column_positions(sheet.rows[header_at], profile)
    groups: dict[str, list[tuple[BankLine, str]]] = {}
    currencies: dict[str, str] = {}
    names: dict[str, str] = {}
    for index in range(header_at + 1, len(sheet.rows)):
        row = sheet.rows[index]
        place = f"row {sheet.row_number(index)}"
        cells = _Cells(row, at)
        if not any(row):
            continue
        first = next(cell for cell in row if cell)
        if first.startswith(_FOOTERS) and not cells.get("date")[:1].isdigit():
            break
        line = _line(cells, profile, place)
        account = account_number(cells.get("account")) or account_number(titles.account)
        if not account:
            raise malformed(place, "account", "no account number in the row or the title rows")
        if cells.get("currency"):  # every row in yuan, not only the first
            currencies[account] = currency_code(cells.get("currency"), place=place)
        groups.setdefault(account, []).append((line, place))
        names.setdefault(account, cells.get("account_name"))
    if not groups:
        raise malformed(
            f"row {sheet.row_number(header_at)}",
            "lines",
            "no lines: without running balances nothing proves the statement",
        )
    return [
        settle(_draft(profile, titles, account, found, currencies.get(account, ""), names[account]))
        for account, found in groups.items()
    ]


def _draft(
    profile: Profile,
    titles: Titles,
    account: str,
    found: list[tuple[BankLine, str]],
    currency: str,
    name: str,
) -> Draft:
    places = [place for _, place in found]
    return Draft(
        format=profile.format,
        account_number=account,
        account_name=name or titles.account_name,
        # A domestic export that names no currency is of a yuan account.
        currency=currency or titles.currency or "CNY",
        statement_id="",
        from_date=titles.from_date,
        to_date=titles.to_date,
        opening_balance=None,
        closing_balance=None,
        lines=[line for line, _ in found],
        place=places.__getitem__,
        where=f"account {account}",
    )


def _column_positions(header: Sequence[str], profile: Profile) -> dict[str, int]:
    names = [header_name(cell) for cell in header]
    at: dict[str, int] = {}
    for key, aliases in profile.columns.items():
        for alias in aliases:
            if alias in names:
                at[key] = names.index(alias)
                break
    for n, memo in enumerate(profile.memo_columns):
        if memo in names:
            at[f"memo{n}"] = names.index(memo)
    return at


@dataclass(frozen=True, slots=True)
class _Cells:
    row: Sequence[str]
    at: Mapping[str, int]

    def get(self, key: str) -> str:
        index = self.at.get(key)
        if index is None or index >= len(self.row):
            return ""
        return self.row[index]


def _line(cells: _Cells, profile: Profile, place: str) -> BankLine:
    date_text = cells.get("date")
    if not date_text:
        raise malformed(place, _name(profile, "date"), "no date")
    booked, rest = parse_day(date_text, place=place, field=_name(profile, "date"))
    if "time" in cells.at:
        booked_at = parse_clock(cells.get("time"), place=place, field=_name(profile, "time"))
    else:
        booked_at = parse_clock(rest, place=place, field=_name(profile, "date"))
    value_text = cells.get("value_date")
    valued = (
        parse_day(value_text, place=place, field=_name(profile, "value_date"))[0]
        if value_text
        else booked
    )
    direction, amount, negative = _amount(cells, profile, place)
    balance = yuan_to_fen(cells.get("balance"), place=place, field=_name(profile, "balance"))
    if balance is None:
        raise malformed(place, _name(profile, "balance"), "no running balance")
    reversal = _flag(cells.get("reversal"), place, _name(profile, "reversal")) or negative
    memo_parts: list[str] = []
    for n in range(len(profile.memo_columns)):
        part = cells.get(f"memo{n}")
        if part and part not in memo_parts:
            memo_parts.append(part)
    memo = " | ".join(memo_parts)
    serial = cells.get("serial")
    counterparty = account_number(cells.get("counterparty_account"))
    return identified(
        BankLine(
            booking_date=booked,
            value_date=valued,
            direction=direction,
            amount=amount,
            identity="",
            counterparty_name=cells.get("counterparty_name"),
            counterparty_account=counterparty,
            counterparty_bank=cells.get("counterparty_bank"),
            memo=memo,
            bank_serial=serial,
            end_to_end_ref=cells.get("end_to_end_ref") or cells.get("order_ref"),
            virtual_account=account_number(cells.get("virtual_account")),
            balance_after=balance,
            booked_at=booked_at,
            reversal=reversal,
        )
    )


def _amount(cells: _Cells, profile: Profile, place: str) -> tuple[Direction, int, bool]:
    """Direction, amount in fen and whether it was printed negative (红字)."""
    debit = yuan_to_fen(cells.get("debit"), place=place, field=_name(profile, "debit")) or 0
    credit = yuan_to_fen(cells.get("credit"), place=place, field=_name(profile, "credit")) or 0
    if debit and credit:
        raise malformed(place, _name(profile, "debit"), "both a debit and a credit amount")
    if not debit and not credit:
        raise malformed(place, _name(profile, "debit"), "neither a debit nor a credit amount")
    column = Direction.DEBIT if debit else Direction.CREDIT
    mark = cells.get("direction_mark").upper()
    if mark and not (
        (column is Direction.DEBIT and mark in _DEBIT_MARKS)
        or (column is Direction.CREDIT and mark in _CREDIT_MARKS)
    ):
        raise malformed(
            place, _name(profile, "direction_mark"), "disagrees with the amount's column", mark
        )
    signed = debit or credit
    if signed > 0:
        return column, signed, False
    flipped = Direction.CREDIT if column is Direction.DEBIT else Direction.DEBIT
    return flipped, -signed, True


def _flag(text: str, place: str, field_name: str) -> bool:
    cleaned = text.strip().upper()
    if cleaned in _YES:
        return True
    if cleaned in _NO:
        return False
    raise malformed(place, field_name, "not a reversal flag (Y/N)", text)


def _name(profile: Profile, key: str) -> str:
    return profile.columns.get(key, (key,))[0]
