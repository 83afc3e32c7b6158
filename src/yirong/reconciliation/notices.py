"""Notices (信息流): what someone says about money. A funder says "we paid order X",
an operator passes on "agent A topped up" or "the bank paid withdrawal W". A notice is
recorded and moves nothing: money moves when a bank line is matched, and the notice
is then matched with it. A notice with no money after the wait becomes an exception
(``reconciliation.ageing``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select, update

from yirong.books.service import business_date_of
from yirong.books.tables import BANK_LINE
from yirong.errors import YirongError
from yirong.funders.tables import Funder
from yirong.infra.db import Retryable, Tx, insert_new, per_dialect, read_only, transactional
from yirong.infra.direct import send
from yirong.loans.model import ORDER
from yirong.loans.tables import Drawdown
from yirong.money import check_amount
from yirong.payments.tables import Payment
from yirong.reconciliation.tables import BankLine, Notice
from yirong.wallets.service import parse_handle, wallet_account

KINDS = ("funding", "top_up", "payment")


@dataclass(frozen=True, slots=True)
class NoticeView:
    id: int
    kind: str
    party: str
    recorded_by: str
    target: str
    amount: int
    their_ref: str
    value_date: date
    said_on: date
    status: str  # open | proposed | matched | unfunded | dismissed
    line_id: str | None  # the matching bank line's public reference (BANK_LINE)
    closed_on: date | None
    outcome: str = "created"  # created | exists (the same notice again)
    moved_money: bool = False  # always False: a notice never moves money


def _view(n: Notice, outcome: str = "exists") -> NoticeView:
    return NoticeView(
        n.id,
        n.kind,
        n.party,
        n.recorded_by,
        n.target,
        n.amount,
        n.their_ref,
        n.value_date,
        n.said_on,
        n.status,
        None if n.line_id is None else BANK_LINE.of(n.line_id),
        n.closed_on,
        outcome,
    )


@transactional
def record_notice(
    tx: Tx,
    *,
    kind: str,
    recorded_by: str,
    key: str,
    target: str,
    amount: int | None = None,
    their_ref: str = "",
    value_date: date | None = None,
    funder: str | None = None,
) -> NoticeView:
    """Record what ``recorded_by`` says. ``target``: the order a funding pays, the
    wallet a top-up is for, the payment reference (or withdrawal id) the bank paid.
    The same key with the same notice answers ``exists``; with another, it is refused."""
    if kind not in KINDS:
        raise YirongError("notice_kind_invalid", kind=kind, kinds=list(KINDS))
    today = business_date_of(tx)
    target, party, expected, waiting = _target(tx, kind, target, funder)
    amount = check_amount(amount if amount is not None else expected)
    said = {
        "kind": kind,
        "party": party,
        "recorded_by": recorded_by,
        "request_key": key,
        "target": target,
        "amount": amount,
        "their_ref": their_ref[:80],
        "value_date": value_date or today,
        "said_on": today,
        "status": "open",
    }
    # A key is new on almost every request, and a bank reference too: the insert comes
    # first, and takes neither if either was taken (one statement, where asking for
    # each first took three). Only then is it asked which was.
    notice_id = send(tx, _say(tx), said).scalar()
    if notice_id is None:
        earlier_id = send(tx, _SAID_UNDER, {"by": recorded_by, "key": key}).scalar()
        earlier = None if earlier_id is None else tx.session.get(Notice, earlier_id)
        if earlier is not None:
            _same_notice(earlier, key, kind=kind, target=target, amount=amount, bank_ref=their_ref)
            return _view(earlier)
        if kind == "funding" and their_ref:
            _fresh_bank_ref(tx, party, their_ref[:80])
        raise Retryable  # what was taken is free again (its transaction rolled back)
    notice = Notice(id=notice_id, line_id=None, closed_on=None, **said)  # its copy, to answer
    if not waiting:
        _already_paid(tx, notice)
    return _view(notice, "created")


@per_dialect
def _say(tx: Tx) -> Any:
    """The notice's insert, which takes its key and its bank reference or nothing (a
    notice under either already), built once per dialect."""
    return insert_new(tx, Notice).on_conflict_do_nothing().returning(Notice.id)


_SAID_UNDER = select(Notice.id).where(
    Notice.recorded_by == bindparam("by"), Notice.request_key == bindparam("key")
)


def _same_notice(earlier: Notice, key: str, **asked: object) -> None:
    """The same key again must say the same thing. A funding notice that does not is
    ``funding_differs``, naming the first field that differs (as the API calls it);
    another notice is ``exists_with_different_request``, naming it too."""
    said = {
        "kind": earlier.kind,
        "target": earlier.target,
        "amount": earlier.amount,
        "bank_ref": earlier.their_ref,
    }
    field = next((name for name, value in said.items() if asked[name] != value), None)
    if field is None:
        return
    if earlier.kind == "funding" and field != "kind":
        raise YirongError(
            "funding_differs", key=key, field="order_ref" if field == "target" else field
        )
    raise YirongError("exists_with_different_request", key=key, field=field)


def _fresh_bank_ref(tx: Tx, party: str, their_ref: str) -> None:
    """A funder's bank reference names one transfer: quoted on a second funding
    notice (under another key) it is refused. Only this funder's own notices are
    looked at, and the refusal names nothing but the caller's own reference and
    notice: another funder may use the same reference, and learns nothing of it."""
    earlier = send(tx, _BANK_REF_USED, {"party": party, "their_ref": their_ref}).scalar()
    if earlier is not None:
        raise YirongError("bank_ref_used", bank_ref=their_ref, notice=earlier)


# Built once: every funding notice asks it.
_BANK_REF_USED = select(Notice.id).where(
    Notice.kind == "funding",
    Notice.party == bindparam("party"),
    Notice.their_ref == bindparam("their_ref"),
    Notice.their_ref != "",  # as the unique index's own condition: it is used
)


def _target(
    tx: Tx, kind: str, target: str, funder: str | None
) -> tuple[str, str, int | None, bool]:
    """The notice's target as stored, whose money it speaks of, the amount it implies
    (a payment's), and whether no money can have come for it yet: an order still
    requested, which no bank line has funded (nothing leads back to that state), so
    that the lines need not be searched for it."""
    if kind == "funding":
        row = send(tx, _ORDER_OF, {"ref": target}).one_or_none()
        # Another funder's order answers as a missing one: quoting references tells a
        # funder nothing of the others' business.
        if row is None or (funder is not None and row[0] != funder):
            raise YirongError("drawdown_not_found", order=target)
        return target, f"funder:{row[0]}", None, row[1] in ORDER
    if kind == "top_up":
        owner_type, code = parse_handle(target)
        handle = f"{owner_type}:{code}"
        wallet_account(tx, handle)  # wallet_not_found
        return handle, handle, None, False
    payment = tx.session.scalars(
        select(Payment).where(
            Payment.reference == target
            if not target.isdigit()
            else Payment.hold_entry_id == int(target)
        )
    ).one_or_none()
    if payment is None:
        raise YirongError("payment_not_found", reference=target)
    return payment.reference, payment.source, payment.amount, False


_ORDER_OF = (
    select(Funder.code, Drawdown.status)
    .join(Drawdown, Drawdown.funder_id == Funder.id)
    .where(Drawdown.order_ref == bindparam("ref"))
)


def _already_paid(tx: Tx, notice: Notice) -> None:
    """A notice that comes after its money (the bank's line was matched first) is
    matched at once."""
    line_id: int | None = None
    if notice.kind == "funding":
        line_id = tx.conn.scalar(
            select(BankLine.id)
            .where(BankLine.target == "order", BankLine.target_ref.contains(notice.target))
            .where(BankLine.status == "matched")
            .order_by(BankLine.id.desc())
            .limit(1)
        )
    elif notice.kind == "payment":
        line_id = tx.conn.scalar(
            select(Payment.bank_line_id).where(Payment.reference == notice.target)
        )
    if line_id is not None:
        notice.status, notice.line_id, notice.closed_on = "matched", line_id, notice.said_on
        send(tx, _NOTICE_PAID, {"notice": notice.id, "line": line_id, "day": notice.said_on})


_NOTICE_PAID = (
    update(Notice)
    .where(Notice.id == bindparam("notice"))
    .values(status="matched", line_id=bindparam("line"), closed_on=bindparam("day"))
)


@read_only
def notices(
    tx: Tx,
    *,
    party: str | None = None,
    status: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[NoticeView]:
    query = select(Notice).where(Notice.id > after).order_by(Notice.id).limit(limit)
    if party is not None:
        query = query.where(Notice.party == party)
    if status is not None:
        query = query.where(Notice.status == status)
    return [_view(n) for n in tx.session.scalars(query)]
