"""Writing statements in the layouts ``bankfiles`` reads: for the simulated bank and for
tests. Each writer prints what its layout carries and refuses (``ValueError``) what it
cannot print faithfully; what a layout silently lacks is listed in its reader's module.

* camt.053: one ``Ustrd`` per line whatever its length (the schema's 140 characters are
  not enforced); the time of day in ``BookgDt/DtTm``; no running balance.
* MT940: UTF-8 text (SWIFT's character set is not enforced, so Chinese text passes);
  :86: wrapped at 65 characters but not cut at 6 lines; a reference that does not fit
  :61: (16 characters) goes to ``/EREF/``; a serial over 16 characters is refused.
* 招商银行 / 工商银行: times to the second; the running balance printed on every row
  (computed from the opening balance where a line has none); an ICBC reversal printed
  as a negative amount in the column of the entry it reverses (红字)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, time
from decimal import Decimal

from lxml import etree

from yirong.bankfiles.csv_layout import write as write_csv_layout
from yirong.bankfiles.model import BankLine, BankStatement, Direction
from yirong.bankfiles.mt940 import NARRATIVE_WIDTH

CAMT_VERSIONS = ("001.02", "001.03", "001.04", "001.05", "001.06", "001.07", "001.08")
Cell = str | Decimal


def write_csv(stmt: BankStatement) -> bytes:
    return write_csv_layout(stmt)


# ---------------------------------------------------------------- camt.053


def write_camt053(stmt: BankStatement, *, version: str = "001.08") -> bytes:
    if version not in CAMT_VERSIONS:
        raise ValueError(f"camt.053 version {version!r} is not one of {CAMT_VERSIONS}")
    xml = _Camt(f"urn:iso:std:iso:20022:tech:xsd:camt.053.{version}")
    # lxml's stubs do not know the default namespace's None prefix.
    root = etree.Element(xml.tag("Document"), nsmap={None: xml.ns})  # type: ignore[dict-item]
    report = xml.add(root, "BkToCstmrStmt")
    xml.add(report, "GrpHdr/MsgId", stmt.statement_id[:35] or "STATEMENT")
    xml.add(report[0], "CreDtTm", f"{stmt.to_date.isoformat()}T23:59:59")
    body = xml.add(report, "Stmt")
    xml.add(body, "Id", stmt.statement_id)
    xml.add(body, "CreDtTm", f"{stmt.to_date.isoformat()}T23:59:59")
    period = xml.add(body, "FrToDt")
    xml.add(period, "FrDtTm", f"{stmt.from_date.isoformat()}T00:00:00")
    xml.add(period, "ToDtTm", f"{stmt.to_date.isoformat()}T23:59:59")
    account = xml.add(body, "Acct")
    xml.add(account, "Id/Othr/Id", stmt.account_number)
    xml.add(account, "Ccy", stmt.currency)
    if stmt.account_name:
        xml.add(account, "Nm", stmt.account_name)
    for kind, amount, day in (
        ("OPBD", stmt.opening_balance, stmt.from_date),
        ("CLBD", stmt.closing_balance, stmt.to_date),
    ):
        balance = xml.add(body, "Bal")
        xml.add(balance, "Tp/CdOrPrtry/Cd", kind)
        xml.add(balance, "Amt", _yuan(abs(amount))).set("Ccy", stmt.currency)
        xml.add(balance, "CdtDbtInd", "DBIT" if amount < 0 else "CRDT")
        xml.add(balance, "Dt/Dt", day.isoformat())
    for line in stmt.lines:
        _camt_entry(xml, xml.add(body, "Ntry"), line, stmt.currency, version >= "001.08")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


class _Camt:
    def __init__(self, ns: str) -> None:
        self.ns = ns

    def tag(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def add(self, parent: etree._Element, path: str, text: str | None = None) -> etree._Element:
        """New elements along ``path`` (``"Id/Othr/Id"``); the last gets ``text``."""
        element = parent
        for name in path.split("/"):
            element = etree.SubElement(element, self.tag(name))
        if text is not None:
            element.text = text
        return element


def _camt_entry(
    xml: _Camt, entry: etree._Element, line: BankLine, currency: str, party_choice: bool
) -> None:
    """One ``Ntry``. ``party_choice``: .08 and later wrap a party's name in ``Pty``."""
    xml.add(entry, "Amt", _yuan(line.amount)).set("Ccy", currency)
    credit = line.direction is Direction.CREDIT
    xml.add(entry, "CdtDbtInd", "CRDT" if credit else "DBIT")
    if line.reversal:
        xml.add(entry, "RvslInd", "true")
    xml.add(entry, "Sts", "BOOK")
    if line.booked_at is None:
        xml.add(entry, "BookgDt/Dt", line.booking_date.isoformat())
    else:
        stamp = f"{line.booking_date.isoformat()}T{line.booked_at.isoformat()}"
        xml.add(entry, "BookgDt/DtTm", stamp)
    xml.add(entry, "ValDt/Dt", line.value_date.isoformat())
    if line.bank_serial:
        xml.add(entry, "AcctSvcrRef", line.bank_serial)
    xml.add(entry, "BkTxCd/Prtry/Cd", "NTRF")
    tx = xml.add(entry, "NtryDtls/TxDtls")
    if line.end_to_end_ref:
        xml.add(tx, "Refs/EndToEndId", line.end_to_end_ref)
    side, agent = ("Dbtr", "DbtrAgt") if credit else ("Cdtr", "CdtrAgt")
    parties = etree.Element(xml.tag("RltdPties"))
    if line.counterparty_name:
        xml.add(parties, f"{side}/Pty/Nm" if party_choice else f"{side}/Nm", line.counterparty_name)
    if line.counterparty_account:
        xml.add(parties, f"{side}Acct/Id/Othr/Id", line.counterparty_account)
    if credit and line.virtual_account:
        xml.add(parties, "CdtrAcct/Id/Othr/Id", line.virtual_account)
    if len(parties):
        tx.append(parties)
    if line.counterparty_bank:
        xml.add(tx, f"RltdAgts/{agent}/FinInstnId/Nm", line.counterparty_bank)
    if line.memo:
        xml.add(tx, "RmtInf/Ustrd", line.memo)


# ---------------------------------------------------------------- MT940

_SWIFT_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,15}")
_STATEMENT_ID = re.compile(r"([^/]{1,16})(?:/(\d{1,5}(?:/\d{1,5})?))?")


def write_mt940(stmt: BankStatement, *, envelope: bool = False) -> bytes:
    """One MT940 message (``envelope``: inside SWIFT blocks 1, 2 and 4). The statement
    id must be ``:20:`` (16 characters, no ``/``) optionally followed by ``/`` and the
    :28C: statement number[/sequence]: the form :mod:`mt940` reads it back as."""
    found = _STATEMENT_ID.fullmatch(stmt.statement_id)
    if found is None:
        raise ValueError("an MT940 statement id is ':20:' (16 characters) '/' ':28C:'")
    out = [f":20:{found.group(1)}", f":25:{stmt.account_number}"]
    if found.group(2):
        out.append(f":28C:{found.group(2)}")
    out.append(f":60F:{_swift_balance(stmt.opening_balance, stmt.from_date, stmt.currency)}")
    for line in stmt.lines:
        out.extend(_swift_line(line))
    out.append(f":62F:{_swift_balance(stmt.closing_balance, stmt.to_date, stmt.currency)}")
    text = "\r\n".join(out)
    if envelope:
        text = "{1:F01YIRONGCNXAXXX0000000000}{2:O940}{4:\r\n" + text + "\r\n-}"
    return (text + "\r\n").encode()


def _swift_amount(fen: int) -> str:
    yuan, cents = divmod(fen, 100)
    text = f"{yuan},{cents:02d}"
    if len(text) > 15:
        raise ValueError(f"MT940 prints amounts of at most 15 characters, not {text}")
    return text


def _swift_day(day: date) -> str:
    if not 2000 <= day.year <= 2099:
        raise ValueError("MT940 years have two digits: 2000 to 2099")
    return day.strftime("%y%m%d")


def _swift_balance(fen: int, day: date, currency: str) -> str:
    mark = "D" if fen < 0 else "C"
    return f"{mark}{_swift_day(day)}{currency}{_swift_amount(abs(fen))}"


def _swift_line(line: BankLine) -> list[str]:
    if abs((line.booking_date - line.value_date).days) > 300:
        raise ValueError("MT940 prints the entry date as MMDD: it must be near the value date")
    mark = line.direction.value
    if line.reversal:  # a reversal of a credit takes money out
        mark = "RC" if line.direction is Direction.DEBIT else "RD"
    e2e = line.end_to_end_ref
    in_field_61 = bool(e2e) and _SWIFT_REF.fullmatch(e2e) is not None and e2e != "NONREF"
    serial = line.bank_serial
    if serial and (len(serial) > 16 or serial != serial.strip() or "\n" in serial):
        raise ValueError(f"MT940 carries a bank reference of at most 16 characters: {serial}")
    statement = (
        f":61:{_swift_day(line.value_date)}{line.booking_date.strftime('%m%d')}{mark}"
        f"{_swift_amount(line.amount)}NTRF{e2e if in_field_61 else 'NONREF'}"
        + (f"//{serial}" if serial else "")
    )
    subfields = (
        ("NAME", line.counterparty_name),
        ("ACCT", line.counterparty_account),
        ("BANK", line.counterparty_bank),
        ("EREF", "" if in_field_61 else e2e),
        ("REMI", line.memo),
    )
    narrative = "".join(f"/{code}/{value}" for code, value in subfields if value)
    if "\n" in narrative or "\r" in narrative:
        raise ValueError("MT940 narrative fields are one line of text each")
    if not narrative:
        return [statement]
    rows = _wrap(narrative, NARRATIVE_WIDTH)
    return [statement, f":86:{rows[0]}", *rows[1:]]


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` characters that the reader joins back exactly: never
    cut next to a space (line ends are trimmed, and a line of `` -`` reads as the end of
    the message: readers drop it) nor before ``:`` or ``-`` (a line starting so would
    read as a new tag or the end of the message)."""
    rows: list[str] = []
    while len(text) > width:
        cut = width
        while cut > 1 and (text[cut - 1].isspace() or text[cut].isspace() or text[cut] in ":-{"):
            cut -= 1
        rows.append(text[:cut])
        text = text[cut:]
    rows.append(text)
    return rows


# ---------------------------------------------------------------- 招商银行

CMB_HEADER = (
    "交易日",
    "交易时间",
    "起息日",
    "交易类型",
    "借方金额",
    "贷方金额",
    "余额",
    "用途",
    "流水号",
    "业务参考号",
    "业务摘要",
    "收(付)方名称",
    "收(付)方账号",
    "收(付)方开户行",
    "冲账标志",
    "商务支付订单号",
)
CMB_SUB_ACCOUNT = "记账子单元编号"


def write_cmb(stmt: BankStatement, *, xlsx: bool = False, encoding: str = "gbk") -> bytes:
    """招商银行's export: title rows, then the table (记账子单元编号 appended when a line
    credits a sub-account). CSV in ``encoding`` with CRLF, or XLSX."""
    sub_accounts = any(line.virtual_account for line in stmt.lines)
    rows: list[Sequence[Cell]] = [
        ["招商银行交易明细"],
        [f"账号：{stmt.account_number}"],
        [f"账户名称：{stmt.account_name}"],
        ["币种：人民币"],
        [f"起始日期：{stmt.from_date:%Y%m%d}", f"终止日期：{stmt.to_date:%Y%m%d}"],
        [],
        [*CMB_HEADER, CMB_SUB_ACCOUNT] if sub_accounts else list(CMB_HEADER),
    ]
    for line, balance in _with_balances(stmt):
        debit = line.direction is Direction.DEBIT
        row: list[Cell] = [
            f"{line.booking_date:%Y%m%d}",
            _clock(line.booked_at),
            f"{line.value_date:%Y%m%d}",
            "",
            _amount_cell(line.amount, xlsx) if debit else "",
            "" if debit else _amount_cell(line.amount, xlsx),
            _amount_cell(balance, xlsx),
            line.memo,
            line.bank_serial,
            line.end_to_end_ref,
            "",
            line.counterparty_name,
            line.counterparty_account,
            line.counterparty_bank,
            "Y" if line.reversal else "N",
            "",
        ]
        if sub_accounts:
            row.append(line.virtual_account)
        rows.append(row)
    return _xlsx(rows) if xlsx else _csv(rows, encoding)


# ---------------------------------------------------------------- 工商银行

ICBC_HISTORYDETAIL = (
    "凭证号",
    "本方账号",
    "对方账号",
    "交易时间",
    "借/贷",
    "借方发生额",
    "贷方发生额",
    "对方行号",
    "摘要",
    "用途",
    "对方单位名称",
    "余额",
)
ICBC_DETAIL = (
    "交易日期",
    "交易时间",
    "摘要",
    "用途",
    "转入金额",
    "转出金额",
    "余额",
    "对方户名",
    "对方账号",
    "对方开户行",
)


def write_icbc(stmt: BankStatement, *, xlsx: bool = True, with_serial: bool = True) -> bytes:
    """工商银行's historydetail layout (``with_serial``), or its 转入金额/转出金额 layout
    without serials. XLSX, or CSV in GBK with CRLF. A reversal is printed as a negative
    amount in the column of the entry it reverses."""
    period = f"起止日期：{stmt.from_date.isoformat()} 至 {stmt.to_date.isoformat()}"
    rows: list[Sequence[Cell]]
    if with_serial:
        rows = [[f"账户历史明细 户名：{stmt.account_name} {period}"], list(ICBC_HISTORYDETAIL)]
    else:
        rows = [
            [f"账号：{stmt.account_number}", f"户名：{stmt.account_name}", "币种：人民币", period],
            list(ICBC_DETAIL),
        ]
    for line, balance in _with_balances(stmt):
        column_debit = (line.direction is Direction.DEBIT) != line.reversal
        printed = _amount_cell(-line.amount if line.reversal else line.amount, xlsx)
        debit, credit = (printed, "") if column_debit else ("", printed)
        stamp = line.booking_date.isoformat()
        if with_serial:
            if line.booked_at is not None:
                stamp += " " + _clock(line.booked_at)
            rows.append(
                [
                    line.bank_serial,
                    stmt.account_number,
                    line.counterparty_account,
                    stamp,
                    "借" if column_debit else "贷",
                    debit,
                    credit,
                    line.counterparty_bank,
                    "",
                    line.memo,
                    line.counterparty_name,
                    _amount_cell(balance, xlsx),
                ]
            )
        else:
            rows.append(
                [
                    stamp,
                    _clock(line.booked_at),
                    "",
                    line.memo,
                    credit,
                    debit,
                    _amount_cell(balance, xlsx),
                    line.counterparty_name,
                    line.counterparty_account,
                    line.counterparty_bank,
                ]
            )
    return _xlsx(rows) if xlsx else _csv(rows, "gbk")


# ---------------------------------------------------------------- shared


def _with_balances(stmt: BankStatement) -> Iterable[tuple[BankLine, int]]:
    """Each line with the running balance the bank prints after it."""
    running = stmt.opening_balance
    for line in stmt.lines:
        running += line.signed
        yield line, running if line.balance_after is None else line.balance_after


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan}.{cents:02d}"


def _amount_cell(fen: int, xlsx: bool) -> Cell:
    """Yuan as text for CSV; as a number cell (from a Decimal, never a float) for XLSX."""
    return Decimal(fen).scaleb(-2) if xlsx else _yuan(fen)


def _clock(moment: time | None) -> str:
    return "" if moment is None else moment.strftime("%H:%M:%S")


def _csv(rows: Iterable[Sequence[Cell]], encoding: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def _xlsx(rows: Iterable[Sequence[Cell]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("明细")
    for row in rows:
        cells: list[object] = []
        for value in row:
            if isinstance(value, str) and value.startswith("="):
                text = WriteOnlyCell(sheet, value)
                text.data_type = "s"  # a memo such as "=1+1" is text, not a formula
                cells.append(text)
            else:
                cells.append(value)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
