"""ISO 20022 camt.053 (BankToCustomerStatement), any version from .001.02 to .001.08,
read by element names whatever the namespace. One file may hold several ``Stmt``.

Read: Stmt/Id; Acct/Id/IBAN or Othr/Id, Acct/Nm (or Ownr/Nm), Acct/Ccy (else the
amounts' Ccy); FrToDt; Bal typed OPBD or PRCD (opening) and CLBD (closing), DBIT
meaning negative; each Ntry with Sts BOOK (``<Sts>BOOK</Sts>`` or
``<Sts><Cd>BOOK</Cd></Sts>``; PDNG and INFO entries are not lines): Amt@Ccy, CdtDbtInd,
RvslInd, BookgDt/Dt or DtTm (its time kept), ValDt, AcctSvcrRef, and from
NtryDtls/TxDtls: Refs/EndToEndId, RltdPties (the debtor of a credit, the creditor of a
debit: Nm directly or under Pty, account IBAN or Othr/Id), RltdAgts (the same party's
bank: Nm, BICFI or BIC), RmtInf/Ustrd, AddtlTxInf, then Ntry/AddtlNtryInf. The
sub-account of a credit is RltdPties/CdtrAcct when it differs from the statement's.

The parser is hardened: entities are never resolved, nothing is fetched, and a document
with a DTD (where entity bombs live) is refused before and after parsing."""

from __future__ import annotations

import re
from datetime import date, datetime, time

from lxml import etree

from yirong.bankfiles.fields import (
    account_number,
    currency_code,
    malformed,
    refuse_wide_text,
    yuan_to_fen,
)
from yirong.bankfiles.model import BankLine, BankStatement, Direction, identified
from yirong.bankfiles.validate import Draft, settle
from yirong.errors import YirongError

_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_ENCODINGS = frozenset(("UTF-8", "GBK", "GB18030", "GB2312"))
_NOT_PROVIDED = "NOTPROVIDED"

Element = etree._Element


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse(content: bytes) -> list[BankStatement]:
    root = _document(content)
    report = _child(root, "BkToCstmrStmt")
    if _local(root) != "Document" or report is None:
        raise malformed("Document", "BkToCstmrStmt", "not a camt.053 BankToCustomerStatement")
    statements = _children(report, "Stmt")
    if not statements:
        raise malformed("BkToCstmrStmt", "Stmt", "the message holds no statement")
    return [_statement(stmt, n) for n, stmt in enumerate(statements, start=1)]


def _document(content: bytes) -> Element:
    refuse_wide_text(content)  # so that the scan below reads the markup as ASCII
    if _DTD.search(content):
        raise malformed("DOCTYPE", "xml", "a DTD or entity declaration is not allowed")
    try:
        tree = etree.fromstring(content, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno is not None else 0
        raise malformed(f"line {line}", "xml", f"not well-formed XML: {exc.msg}") from None
    if tree.docinfo.internalDTD is not None or tree.docinfo.externalDTD is not None:
        raise malformed("DOCTYPE", "xml", "a DTD or entity declaration is not allowed")
    encoding = (tree.docinfo.encoding or "UTF-8").upper()
    if encoding not in _ENCODINGS:
        raise YirongError("statement_encoding_invalid", encoding=encoding)
    return tree.getroot()


# ---------------------------------------------------------------- element access


def _local(element: Element) -> str:
    return str(element.tag).rpartition("}")[2]


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child) == name]


def _child(element: Element | None, path: str) -> Element | None:
    """The first element along ``path`` (``"Acct/Id/IBAN"``), or None."""
    for name in path.split("/"):
        if element is None:
            return None
        element = next((c for c in element if _local(c) == name), None)
    return element


def _text(element: Element | None, path: str) -> str:
    found = _child(element, path)
    if found is None or found.text is None:
        return ""
    return found.text.strip()


def _party_name(party: Element | None) -> str:
    return _text(party, "Nm") or _text(party, "Pty/Nm")


def _account_id(account: Element | None) -> str:
    return account_number(_text(account, "Id/IBAN") or _text(account, "Id/Othr/Id"))


def _agent_name(agent: Element | None) -> str:
    return (
        _text(agent, "FinInstnId/Nm")
        or _text(agent, "FinInstnId/BICFI")
        or _text(agent, "FinInstnId/BIC")
    )


# ---------------------------------------------------------------- a statement


def _statement(stmt: Element, n: int) -> BankStatement:
    where = f"Stmt {n}"
    account_el = _child(stmt, "Acct")
    account = _account_id(account_el)
    currency = _text(account_el, "Ccy") or _first_currency(stmt)
    opening = closing = None
    opening_kind = ""
    for k, balance in enumerate(_children(stmt, "Bal"), start=1):
        kind = _text(balance, "Tp/CdOrPrtry/Cd") or _text(balance, "Tp/CdOrPrtry/Prtry")
        if kind not in ("OPBD", "PRCD", "CLBD"):
            continue
        amount = _signed_amount(balance, f"{where} Bal {k} ({kind})")
        if kind == "CLBD":
            closing = amount
        elif opening is None or (kind == "OPBD" and opening_kind != "OPBD"):
            opening, opening_kind = amount, kind
    entries = _children(stmt, "Ntry")
    lines: list[BankLine] = []
    places: list[str] = []
    for k, entry in enumerate(entries, start=1):
        status = _text(entry, "Sts/Cd") or _text(entry, "Sts")
        if status != "BOOK":
            continue
        place = f"{where} Ntry {k}"
        lines.append(_line(entry, place, account))
        places.append(place)
    return settle(
        Draft(
            format="camt053",
            account_number=account,
            account_name=_text(account_el, "Nm") or _text(account_el, "Ownr/Nm"),
            currency=currency,
            statement_id=_text(stmt, "Id"),
            from_date=_day(_text(stmt, "FrToDt/FrDtTm"), where, "FrToDt/FrDtTm"),
            to_date=_day(_text(stmt, "FrToDt/ToDtTm"), where, "FrToDt/ToDtTm"),
            opening_balance=opening,
            closing_balance=closing,
            lines=lines,
            place=places.__getitem__,
            where=where,
        )
    )


def _first_currency(stmt: Element) -> str:
    for element in stmt.iter():
        if _local(element) == "Amt" and element.get("Ccy"):
            return element.get("Ccy") or ""
    return ""


def _signed_amount(holder: Element, place: str) -> int:
    amount = _amount(holder, place)
    indicator = _text(holder, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise malformed(place, "CdtDbtInd", "not CRDT or DBIT", indicator)
    return -amount if indicator == "DBIT" else amount


def _amount(holder: Element, place: str) -> int:
    element = _child(holder, "Amt")
    if element is None or not (element.text or "").strip():
        raise malformed(place, "Amt", "no amount")
    currency_code(element.get("Ccy") or "", place=place)
    fen = yuan_to_fen(element.text or "", place=place, field="Amt")
    if fen is None or fen < 0:
        raise malformed(place, "Amt", "not an amount (the sign is CdtDbtInd)", element.text)
    if fen == 0 and _local(holder) == "Ntry":
        raise malformed(place, "Amt", "an entry moves no money", element.text)
    return fen


def _day(text: str, place: str, field: str) -> date | None:
    if not text:
        return None
    return _moment(text, place, field)[0]


def _moment(text: str, place: str, field: str) -> tuple[date, time | None]:
    try:
        if "T" not in text:  # ISODate, perhaps with a zone: 2026-01-05, 2026-01-05+08:00
            return date.fromisoformat(text[:10]), None
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise malformed(place, field, "not an ISO date or date-time", text) from None
    return stamp.date(), stamp.time()


def _line(entry: Element, place: str, account: str) -> BankLine:
    amount = _amount(entry, place)
    indicator = _text(entry, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise malformed(place, "CdtDbtInd", "not CRDT or DBIT", indicator)
    direction = Direction.CREDIT if indicator == "CRDT" else Direction.DEBIT
    booked_text = _text(entry, "BookgDt/Dt") or _text(entry, "BookgDt/DtTm")
    if not booked_text:
        raise malformed(place, "BookgDt", "no booking date")
    booked, booked_at = _moment(booked_text, place, "BookgDt")
    value_text = _text(entry, "ValDt/Dt") or _text(entry, "ValDt/DtTm")
    valued = _moment(value_text, place, "ValDt")[0] if value_text else booked
    details = [tx for d in _children(entry, "NtryDtls") for tx in _children(d, "TxDtls")]
    first = details[0] if details else None
    parties = _child(first, "RltdPties")
    agents = _child(first, "RltdAgts")
    side, agent = ("Dbtr", "DbtrAgt") if direction is Direction.CREDIT else ("Cdtr", "CdtrAgt")
    counterparty = _account_id(_child(parties, f"{side}Acct"))
    sub_account = ""
    if direction is Direction.CREDIT:
        credited = _account_id(_child(parties, "CdtrAcct"))
        sub_account = credited if credited != account else ""
    serial = _text(entry, "AcctSvcrRef") or _text(first, "Refs/AcctSvcrRef")
    e2e = _text(first, "Refs/EndToEndId")
    memo = _memo(entry, details)
    reversal = _text(entry, "RvslInd").lower() in ("true", "1")
    return identified(
        BankLine(
            booking_date=booked,
            value_date=valued,
            direction=direction,
            amount=amount,
            identity="",
            counterparty_name=_party_name(_child(parties, side)),
            counterparty_account=counterparty,
            counterparty_bank=_agent_name(_child(agents, agent)),
            memo=memo,
            bank_serial=serial,
            end_to_end_ref="" if e2e == _NOT_PROVIDED else e2e,
            virtual_account=sub_account,
            booked_at=booked_at,
            reversal=reversal,
        )
    )


def _memo(entry: Element, details: list[Element]) -> str:
    parts: list[str] = []
    for tx in details:
        for remittance in _children(tx, "RmtInf"):
            parts.extend((u.text or "").strip() for u in _children(remittance, "Ustrd"))
        parts.append(_text(tx, "AddtlTxInf"))
    parts.append(_text(entry, "AddtlNtryInf"))
    kept: list[str] = []
    for part in parts:
        if part and part not in kept:
            kept.append(part)
    return " | ".join(kept)
