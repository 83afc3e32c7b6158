"""The exception queue (差错处理): every line or notice that matched nothing, with its
type, age and owner, and the actions an operator takes on it: match by hand, return to
sender, book to or release from suspense, dismiss (a notice or a payment alert only),
take ownership. A match or a return of at least the operator's threshold waits for a
second operator's approval (maker-checker). Every action is recorded with who took it;
nothing is written off silently."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select

from yirong.bankfiles.model import BankLine as ParsedLine
from yirong.bankfiles.model import Direction
from yirong.books.service import SUSPENSE, BankAccountView, bank_accounts_in, business_date_of
from yirong.books.tables import BANK_LINE
from yirong.errors import YirongError
from yirong.infra.db import Tx, read_only, transactional
from yirong.ledger import service as ledger
from yirong.loans.drawdowns import LIVE_ORDER
from yirong.loans.funding import order_by_reference
from yirong.payments import service as payments
from yirong.payments.service import Payee
from yirong.policy.service import setting
from yirong.reconciliation import suspense
from yirong.reconciliation.matching import Taken, pay
from yirong.reconciliation.model import Target
from yirong.reconciliation.tables import (
    BankLine,
    Notice,
    ReconAction,
    ReconApproval,
    ReconException,
)
from yirong.wallets import commissions
from yirong.wallets.service import parse_handle, wallet_account


@dataclass(frozen=True, slots=True)
class LineSummary:
    id: str  # bl_ and 14 digits (BANK_LINE)
    account: str
    booking_date: date
    direction: str
    amount: int
    counterparty_name: str
    counterparty_account: str
    memo: str
    bank_serial: str
    in_suspense: bool


@dataclass(frozen=True, slots=True)
class ExceptionView:
    id: int
    kind: str
    status: str  # open | resolved
    direction: str
    amount: int
    detail: str
    proposal: str | None
    opened_on: date
    age_days: int
    owner: str
    line: LineSummary | None
    notice_id: int | None
    payment_id: int | None
    resolution: str | None  # matched | returned | dismissed
    resolved_on: date | None
    resolved_by: str | None
    awaiting_approval: int | None  # the pending approval's id


@dataclass(frozen=True, slots=True)
class ActionResult:
    status: str  # done | awaiting_approval | exists (already done)
    exception: ExceptionView
    approval_id: int | None = None


# ---------------------------------------------------------------- reading


def _view(tx: Tx, exc: ReconException, today: date) -> ExceptionView:
    line = None
    if exc.line_id is not None:
        row = tx.session.get(BankLine, exc.line_id)
        assert row is not None
        line = LineSummary(
            BANK_LINE.of(row.id),
            _account(tx, row.bank_account_id).number,
            row.booking_date,
            row.direction,
            row.amount,
            row.counterparty_name,
            row.counterparty_account,
            row.memo,
            row.bank_serial,
            row.suspense_entry_id is not None,
        )
    pending = tx.conn.scalar(
        select(ReconApproval.id).where(
            ReconApproval.exception_id == exc.id, ReconApproval.status == "pending"
        )
    )
    end = exc.resolved_on or today
    return ExceptionView(
        exc.id,
        exc.kind,
        exc.status,
        exc.direction,
        exc.amount,
        exc.detail,
        exc.proposal,
        exc.opened_on,
        (end - exc.opened_on).days,
        exc.owner,
        line,
        exc.notice_id,
        exc.payment_id,
        exc.resolution,
        exc.resolved_on,
        exc.resolved_by,
        pending,
    )


def _account(tx: Tx, bank_account_id: int) -> BankAccountView:
    return next(a for a in bank_accounts_in(tx) if a.id == bank_account_id)


@read_only
def list_exceptions(
    tx: Tx,
    *,
    status: str | None = "open",
    kind: str | None = None,
    owner: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[ExceptionView]:
    """Oldest first (the oldest is the most urgent), ids after ``after``."""
    query = (
        select(ReconException)
        .where(ReconException.id > after)
        .order_by(ReconException.id)
        .limit(limit)
    )
    if status is not None:
        query = query.where(ReconException.status == status)
    if kind is not None:
        query = query.where(ReconException.kind == kind)
    if owner is not None:
        query = query.where(ReconException.owner == owner)
    today = business_date_of(tx)
    return [_view(tx, e, today) for e in tx.session.scalars(query)]


@read_only
def open_count(tx: Tx) -> int:
    """How many exceptions wait for a person."""
    found = tx.conn.scalar(
        select(func.count()).select_from(ReconException).where(ReconException.status == "open")
    )
    return int(found or 0)


@read_only
def exception_detail(tx: Tx, exception_id: int) -> tuple[ExceptionView, list[dict[str, Any]]]:
    """An exception and every action taken on it, oldest first."""
    exc = _row(tx, exception_id, lock=False)
    actions = [
        {
            "action": a.action,
            "actor": a.actor,
            "business_date": a.business_date,
            "detail": json.loads(a.detail),
        }
        for a in tx.session.scalars(
            select(ReconAction)
            .where(ReconAction.exception_id == exception_id)
            .order_by(ReconAction.id)
        )
    ]
    return _view(tx, exc, business_date_of(tx)), actions


# ---------------------------------------------------------------- actions


def _row(tx: Tx, exception_id: int, *, lock: bool = True) -> ReconException:
    found = tx.session.get(ReconException, exception_id, with_for_update=lock)
    if found is None:
        raise YirongError("exception_not_found", exception=exception_id)
    return found


def _open_row(tx: Tx, exception_id: int) -> ReconException:
    exc = _row(tx, exception_id)
    if exc.status != "open":
        raise YirongError("exception_resolved", exception=exception_id, resolution=exc.resolution)
    return exc


def _record(tx: Tx, exc: ReconException, action: str, actor: str, **detail: Any) -> None:
    tx.session.add(
        ReconAction(
            exception_id=exc.id,
            action=action,
            actor=actor[:80],
            business_date=business_date_of(tx),
            detail=json.dumps(detail, default=str, ensure_ascii=False, sort_keys=True),
        )
    )


def _done(tx: Tx, exc: ReconException, status: str = "done") -> ActionResult:
    tx.session.flush()
    return ActionResult(status, _view(tx, exc, business_date_of(tx)))


def _line_of(tx: Tx, exc: ReconException) -> BankLine:
    if exc.line_id is None:
        raise YirongError("exception_action_invalid", exception=exc.id, kind=exc.kind)
    line = tx.session.get(BankLine, exc.line_id, with_for_update=True)
    assert line is not None
    return line


@transactional
def assign(tx: Tx, exception_id: int, owner: str, *, actor: str) -> ActionResult:
    """Give the exception an owner (a person or a team)."""
    exc = _open_row(tx, exception_id)
    if not owner.strip():
        raise YirongError("name_invalid")
    _record(tx, exc, "assign", actor, owner=owner, previous=exc.owner)
    exc.owner = owner[:80]
    return _done(tx, exc)


@transactional
def book_to_suspense(tx: Tx, exception_id: int, *, actor: str) -> ActionResult:
    """Hold the line's money in suspense, so that the books show it where the bank does."""
    exc = _open_row(tx, exception_id)
    line = _line_of(tx, exc)
    if line.suspense_entry_id is not None:
        return _done(tx, exc, "exists")
    _book(tx, line)
    _record(tx, exc, "suspense", actor)
    return _done(tx, exc)


@transactional
def release_from_suspense(tx: Tx, exception_id: int, *, actor: str) -> ActionResult:
    """Take the line's money out of suspense (the booking reversed): the line stays
    open, unbooked, and the difference with the bank is this exception."""
    exc = _open_row(tx, exception_id)
    line = _line_of(tx, exc)
    if line.suspense_entry_id is None:
        return _done(tx, exc, "exists")
    _release(tx, line)
    _record(tx, exc, "release", actor)
    return _done(tx, exc)


def _book(tx: Tx, line: BankLine) -> None:
    code = _account(tx, line.bank_account_id).ledger_account
    line.suspense_entry_id = suspense.book(
        tx, line.id, line.direction, line.amount, code, line.suspense_moves
    )
    line.suspense_moves += 1


def _release(tx: Tx, line: BankLine) -> None:
    assert line.suspense_entry_id is not None
    suspense.release(tx, line.id, line.suspense_entry_id, line.suspense_moves)
    line.suspense_entry_id = None
    line.suspense_moves += 1


@transactional
def dismiss(tx: Tx, exception_id: int, reason: str, *, actor: str) -> ActionResult:
    """Close a notice with no money, or a payment the bank has not debited, with a
    reason. A bank line's exception cannot be dismissed: its money is real."""
    exc = _open_row(tx, exception_id)
    if exc.line_id is not None:
        raise YirongError("exception_action_invalid", exception=exc.id, kind=exc.kind)
    if not reason.strip():
        raise YirongError("reason_required")
    if exc.notice_id is not None:
        notice = tx.session.get(Notice, exc.notice_id, with_for_update=True)
        assert notice is not None
        notice.status, notice.closed_on = "dismissed", business_date_of(tx)
    _resolve(tx, exc, "dismissed", actor)
    _record(tx, exc, "dismiss", actor, reason=reason)
    return _done(tx, exc)


def _resolve(tx: Tx, exc: ReconException, resolution: str, actor: str) -> None:
    exc.status, exc.resolution = "resolved", resolution
    exc.resolved_on, exc.resolved_by = business_date_of(tx), actor[:80]


def _threshold(tx: Tx) -> int:
    return int(setting(tx, "recon_approval_threshold_fen"))


def _needs_approval(
    tx: Tx, exc: ReconException, action: str, target: str | None, actor: str
) -> ActionResult | None:
    """At or above the threshold the action waits for a second operator."""
    if exc.amount < _threshold(tx):
        return None
    pending = tx.session.scalars(
        select(ReconApproval).where(
            ReconApproval.exception_id == exc.id, ReconApproval.status == "pending"
        )
    ).one_or_none()
    if pending is not None:
        if (pending.action, pending.target) != (action, target):
            raise YirongError("approval_pending", exception=exc.id, approval=pending.id)
        return ActionResult("awaiting_approval", _view(tx, exc, business_date_of(tx)), pending.id)
    approval = ReconApproval(
        exception_id=exc.id,
        action=action,
        target=target,
        amount=exc.amount,
        maker=actor[:80],
        made_on=business_date_of(tx),
        status="pending",
    )
    tx.session.add(approval)
    tx.session.flush()
    _record(tx, exc, f"{action}_asked", actor, target=target, approval=approval.id)
    return ActionResult("awaiting_approval", _view(tx, exc, business_date_of(tx)), approval.id)


@transactional
def match_by_hand(tx: Tx, exception_id: int, target: str | None, *, actor: str) -> ActionResult:
    """Say what a line's money is for: ``order:<ref>``, ``wallet:<handle>``,
    ``commission:<ref>`` (credits) or ``payment:<ref>`` (debits); none: the proposal."""
    exc = _open_row(tx, exception_id)
    chosen = target or exc.proposal
    if chosen is None:
        raise YirongError("match_target_invalid", target=target)
    line = _line_of(tx, exc)  # a line's exception only
    target, ref = _parse_target(chosen)
    _check_fits(tx, line, target, ref)  # before anyone is asked to approve it
    waiting = _needs_approval(tx, exc, "match", chosen, actor)
    if waiting is not None:
        return waiting
    _match(tx, exc, chosen, actor)
    return _done(tx, exc)


def _parse_target(text: str) -> tuple[Target, str]:
    kind, _, ref = text.partition(":")
    try:
        target = Target(kind)
    except ValueError:
        raise YirongError("match_target_invalid", target=text) from None
    if not ref:
        raise YirongError("match_target_invalid", target=text)
    return target, ref


def _match(tx: Tx, exc: ReconException, chosen: str, actor: str, checker: str = "") -> None:
    line = _line_of(tx, exc)
    target, ref = _parse_target(chosen)
    _check_fits(tx, line, target, ref)
    if line.suspense_entry_id is not None:
        _release(tx, line)
    taken = _taken(tx, line)
    if target is Target.WALLET:
        owner_type, code = parse_handle(ref)
        ref = f"{owner_type}:{code}"
    pay(tx, taken, target, (ref,))
    who = f"operator:{actor}" + (f", approved by {checker}" if checker else "")
    line.status, line.target, line.target_ref = "matched", taken.target, taken.target_ref
    line.matched_by, line.matched_on = who[:120], business_date_of(tx)
    _resolve(tx, exc, "matched", checker or actor)
    _record(tx, exc, "match", checker or actor, target=chosen, maker=actor)


def _check_fits(tx: Tx, line: BankLine, target: Target, ref: str) -> None:
    """A hand match is held to the same facts as a rule's: the right direction, a
    live order of exactly the amount, an open payment of exactly the amount, ..."""
    credit = line.direction == Direction.CREDIT.value
    if credit != (target is not Target.PAYMENT):
        raise YirongError("match_target_invalid", target=f"{target.value}:{ref}")
    match target:
        case Target.ORDER:
            drawdown = order_by_reference(tx, ref, lock=False)
            if drawdown is None:
                raise YirongError("drawdown_not_found", order=ref)
            if drawdown.status not in LIVE_ORDER:
                raise YirongError("drawdown_not_pending", order=ref, status=drawdown.status)
            expected = drawdown.amount
        case Target.WALLET:
            owner_type, code = parse_handle(ref)
            wallet_account(tx, f"{owner_type}:{code}")
            expected = line.amount
        case Target.COMMISSION:
            ids = commissions.file_ids_in(ref)
            record = commissions.file_for_payment(tx, ids[0]) if ids else None
            if record is None or record.state != "awaiting_funds":
                raise YirongError("commission_file_not_found", file=ref)
            expected = record.total_fen
        case Target.PAYMENT:
            payment = payments.payment_row(tx, reference=ref)
            if payment.status != "instructed":
                raise YirongError("payment_not_open", reference=ref, status=payment.status)
            expected = payment.amount
    if expected != line.amount:
        raise YirongError("match_amount_differs", expected=expected, line=line.amount)


def _taken(tx: Tx, line: BankLine) -> Taken:
    parsed = ParsedLine(
        booking_date=line.booking_date,
        value_date=line.value_date,
        direction=Direction(line.direction),
        amount=line.amount,
        identity=line.identity,
        counterparty_name=line.counterparty_name,
        counterparty_account=line.counterparty_account,
        counterparty_bank=line.counterparty_bank,
        memo=line.memo,
        bank_serial=line.bank_serial,
    )
    return Taken(line.id, _account(tx, line.bank_account_id), parsed)


@transactional
def return_to_sender(tx: Tx, exception_id: int, *, actor: str) -> ActionResult:
    """Send a credit line's money back to the account it came from: it stays in
    suspense as a payment instructed to the bank, until the statement shows it left."""
    exc = _open_row(tx, exception_id)
    line = _line_of(tx, exc)
    if line.direction != Direction.CREDIT.value:
        raise YirongError("exception_action_invalid", exception=exc.id, kind=exc.kind)
    if not line.counterparty_account:
        raise YirongError("return_needs_counterparty", line=line.id)
    waiting = _needs_approval(tx, exc, "return", None, actor)
    if waiting is not None:
        return waiting
    _return(tx, exc, actor)
    return _done(tx, exc)


def _return(tx: Tx, exc: ReconException, actor: str, checker: str = "") -> None:
    line = _line_of(tx, exc)
    if line.suspense_entry_id is None:
        _book(tx, line)
    payment, _ = payments.instruct_in(
        tx,
        kind="return",
        source=ledger.account_by_code(tx, SUSPENSE),
        amount=line.amount,
        key=f"bank:{line.id}:return",
        payee=Payee(line.counterparty_name, line.counterparty_account, line.counterparty_bank),
        bank_account=_account(tx, line.bank_account_id).ledger_account,
    )
    # The money leaves suspense through the payment's hold: the line is no longer
    # waiting in suspense of its own.
    line.status, line.suspense_entry_id = "returned", None
    line.target, line.target_ref = Target.PAYMENT.value, payment.reference
    _resolve(tx, exc, "returned", checker or actor)
    _record(tx, exc, "return", checker or actor, payment=payment.reference, maker=actor)


# ---------------------------------------------------------------- maker-checker


@dataclass(frozen=True, slots=True)
class ApprovalView:
    id: int
    exception_id: int
    action: str
    target: str | None
    amount: int
    maker: str
    made_on: date
    status: str  # pending | approved | refused
    checker: str | None
    decided_on: date | None


def _approval_view(a: ReconApproval) -> ApprovalView:
    return ApprovalView(
        a.id,
        a.exception_id,
        a.action,
        a.target,
        a.amount,
        a.maker,
        a.made_on,
        a.status,
        a.checker,
        a.decided_on,
    )


@read_only
def approvals(tx: Tx, *, status: str | None = "pending") -> list[ApprovalView]:
    query = select(ReconApproval).order_by(ReconApproval.id)
    if status is not None:
        query = query.where(ReconApproval.status == status)
    return [_approval_view(a) for a in tx.session.scalars(query)]


def _pending(tx: Tx, approval_id: int, actor: str) -> ReconApproval:
    approval = tx.session.get(ReconApproval, approval_id, with_for_update=True)
    if approval is None:
        raise YirongError("approval_not_found", approval=approval_id)
    if approval.status != "pending":
        raise YirongError("approval_decided", approval=approval_id, status=approval.status)
    if approval.maker == actor:
        raise YirongError("approval_same_operator", approval=approval_id, maker=approval.maker)
    return approval


@transactional
def approve(tx: Tx, approval_id: int, *, actor: str) -> ActionResult:
    """A second operator approves: the match or return is carried out."""
    approval = _pending(tx, approval_id, actor)
    exc = _open_row(tx, approval.exception_id)
    if approval.action == "match":
        assert approval.target is not None
        _match(tx, exc, approval.target, approval.maker, checker=actor)
    else:
        _return(tx, exc, approval.maker, checker=actor)
    approval.status, approval.checker = "approved", actor[:80]
    approval.decided_on = business_date_of(tx)
    return ActionResult("done", _view(tx, exc, business_date_of(tx)), approval.id)


@transactional
def refuse(tx: Tx, approval_id: int, reason: str, *, actor: str) -> ApprovalView:
    """A second operator refuses: nothing moves, the exception stays open."""
    approval = _pending(tx, approval_id, actor)
    if not reason.strip():
        raise YirongError("reason_required")
    exc = _row(tx, approval.exception_id)
    approval.status, approval.checker = "refused", actor[:80]
    approval.decided_on = business_date_of(tx)
    _record(tx, exc, f"{approval.action}_refused", actor, reason=reason, approval=approval.id)
    return _approval_view(approval)
