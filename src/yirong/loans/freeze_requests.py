"""A funder's contractual freeze request (冻结申请): the loan contract lets the funder
ask that a borrower in default have its wallet frozen. The funder asks; an operator
applies it (the wallet frozen for ``funder_request``, in the same transaction as the
decision) or declines it; either way once. A funder may ask only about an agent that
owes it overdue debt, and an operator applies it only while that is still so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from yirong.agents.service import agent_row
from yirong.books.service import business_date_of
from yirong.errors import YirongError
from yirong.funders.service import funder_row
from yirong.infra.db import Tx, read_only, transactional
from yirong.loans.tables import Drawdown, FreezeRequest
from yirong.wallets.service import FreezeReason, freeze_in


@dataclass(frozen=True, slots=True)
class FreezeRequestView:
    id: int
    funder_code: str
    agent_code: str
    note: str
    status: str  # requested | applied | declined
    requested_on: date
    decided_on: date | None
    decided_by: str | None
    decision_note: str | None
    outcome: str = "created"  # created | exists (a request still open for the agent)


def _view(r: FreezeRequest, outcome: str = "created") -> FreezeRequestView:
    return FreezeRequestView(
        r.id,
        r.funder_code,
        r.agent_code,
        r.note,
        r.status,
        r.requested_on,
        r.decided_on,
        r.decided_by,
        r.decision_note,
        outcome,
    )


def _clean(note: str) -> str:
    return " ".join(note.split())[:200]


def _in_default(tx: Tx, funder_code: str, agent_code: str) -> bool:
    """The agent has a loan from this funder that is overdue."""
    funder = funder_row(tx, funder_code)
    agent = agent_row(tx, agent_code)
    overdue = tx.session.scalar(
        select(func.count()).where(
            Drawdown.agent_id == agent.id,
            Drawdown.funder_id == funder.id,
            Drawdown.status == "overdue",
        )
    )
    return bool(overdue)


@transactional
def request_freeze(tx: Tx, funder_code: str, agent_code: str, note: str) -> FreezeRequestView:
    """The funder asks for the agent's wallet to be frozen. Asked again while the first
    request is open, the open one is returned (``exists``)."""
    note = _clean(note)
    if not note:
        raise YirongError("reason_required", "Say why: a freeze request needs a note.")
    if not _in_default(tx, funder_code, agent_code):
        raise YirongError("borrower_not_in_default", agent=agent_code, funder=funder_code)
    open_one = tx.session.scalars(
        select(FreezeRequest).where(
            FreezeRequest.funder_code == funder_code,
            FreezeRequest.agent_code == agent_code,
            FreezeRequest.status == "requested",
        )
    ).first()
    if open_one is not None:
        return _view(open_one, "exists")
    request = FreezeRequest(
        funder_code=funder_code,
        agent_code=agent_code,
        note=note,
        status="requested",
        requested_on=business_date_of(tx),
    )
    tx.session.add(request)
    tx.session.flush()
    return _view(request)


def _open_request(tx: Tx, request_id: int) -> FreezeRequest:
    request = tx.session.get(FreezeRequest, request_id, with_for_update=True)
    if request is None:
        raise YirongError("freeze_request_not_found", freeze_request=request_id)
    if request.status != "requested":
        raise YirongError(
            "freeze_request_decided", freeze_request=request_id, status=request.status
        )
    return request


def _decide(tx: Tx, request: FreezeRequest, status: str, actor: str, note: str | None) -> None:
    request.status = status
    request.decided_on = business_date_of(tx)
    request.decided_by = actor[:80]
    request.decision_note = _clean(note) if note else None


@transactional
def apply_freeze_request(
    tx: Tx, request_id: int, actor: str, note: str | None = None
) -> FreezeRequestView:
    """An operator applies the request: the agent's wallet is frozen for
    ``funder_request`` (credits still land, nothing but repayment goes out) and the
    decision recorded, together. Refused if the borrower is no longer in default."""
    request = _open_request(tx, request_id)
    if not _in_default(tx, request.funder_code, request.agent_code):
        raise YirongError(
            "borrower_not_in_default", agent=request.agent_code, funder=request.funder_code
        )
    freeze_in(
        tx,
        f"agent:{request.agent_code}",
        FreezeReason.FUNDER_REQUEST,
        note=f"freeze request {request.id} of {request.funder_code}: {request.note}",
        actor=actor,
    )
    _decide(tx, request, "applied", actor, note)
    return _view(request)


@transactional
def decline_freeze_request(tx: Tx, request_id: int, actor: str, note: str) -> FreezeRequestView:
    """An operator declines the request, saying why."""
    if not _clean(note):
        raise YirongError("reason_required", "Say why: declining a freeze request needs a note.")
    request = _open_request(tx, request_id)
    _decide(tx, request, "declined", actor, note)
    return _view(request)


@read_only
def freeze_requests(
    tx: Tx,
    *,
    funder_code: str | None = None,
    status: str | None = None,
    after: int = 0,
    limit: int = 50,
) -> list[FreezeRequestView]:
    """Freeze requests in id order (a funder's own when ``funder_code`` is given)."""
    query = select(FreezeRequest).where(FreezeRequest.id > after)
    if funder_code is not None:
        query = query.where(FreezeRequest.funder_code == funder_code)
    if status is not None:
        query = query.where(FreezeRequest.status == status)
    return [_view(r) for r in tx.session.scalars(query.order_by(FreezeRequest.id).limit(limit))]


@read_only
def latest_freeze_requests(
    tx: Tx, funder_code: str, *, before: int | None = None, limit: int = 50
) -> list[FreezeRequestView]:
    """A funder's freeze requests, newest first, before id ``before`` (the next page)."""
    query = select(FreezeRequest).where(FreezeRequest.funder_code == funder_code)
    if before is not None:
        query = query.where(FreezeRequest.id < before)
    found = tx.session.scalars(query.order_by(FreezeRequest.id.desc()).limit(limit))
    return [_view(r) for r in found]


@read_only
def asked_for(tx: Tx, funder_code: str, agent_codes: Sequence[str]) -> set[str]:
    """Which of these agents the funder has an open freeze request for."""
    return set(
        tx.session.scalars(
            select(FreezeRequest.agent_code).where(
                FreezeRequest.funder_code == funder_code,
                FreezeRequest.status == "requested",
                FreezeRequest.agent_code.in_(list(agent_codes)),
            )
        )
    )


@read_only
def requested_count(tx: Tx) -> int:
    """How many freeze requests wait for an operator."""
    found = tx.conn.scalar(
        select(func.count()).select_from(FreezeRequest).where(FreezeRequest.status == "requested")
    )
    return int(found or 0)
