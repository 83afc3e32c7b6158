"""The reconciliation's exception queue for the operations team: filtered, paged in
SQL and exported as a CSV; each exception's actions (match by hand, return, book to
or release from suspense, dismiss), with a second operator's approval at or above the
threshold (the first may not give it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.access.principals import Principal
from yirong.api.security import DB
from yirong.console import i18n
from yirong.console.exports import csv_response, yuan_number
from yirong.console.forms import (
    operator_or_page,
    role_form,
    see_other,
    tr,
)
from yirong.console.i18n import N_
from yirong.console.pages import PAGE, refusal_text, refused, render
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.reconciliation import exceptions
from yirong.reconciliation.model import ExceptionKind
from yirong.roles import Role

router = APIRouter(include_in_schema=False)


@router.get("/operator/exceptions")
def exceptions_page(
    request: Request, db: DB, status: str = "open", kind: str = "", after: int = 0
) -> Response:
    who = operator_or_page(request, db)
    if isinstance(who, Response):
        return who
    shown_status = status if status in ("open", "resolved") else None
    shown_kind = kind if kind in set(ExceptionKind) else None
    found = exceptions.list_exceptions(
        db, status=shown_status, kind=shown_kind, after=after, limit=PAGE + 1
    )
    return render(
        request,
        "operator_exceptions.html",
        who=who,
        found=found[:PAGE],
        next_after=found[PAGE - 1].id if len(found) > PAGE else None,
        shown_status=shown_status or "all",
        shown_kind=shown_kind or "",
        kinds=i18n.EXCEPTION_KINDS,
        approvals=exceptions.approvals(db),
    )


def _exception_page(
    request: Request,
    db: Database,
    who: Principal,
    exception_id: int,
    status: int = 200,
    error: str | None = None,
) -> Response:
    try:
        found, actions = exceptions.exception_detail(db, exception_id)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)
    pending = next((a for a in exceptions.approvals(db) if a.id == found.awaiting_approval), None)
    return render(
        request,
        "operator_exception.html",
        status,
        who=who,
        exc=found,
        actions=actions,
        pending=pending,
        kinds=i18n.EXCEPTION_KINDS,
        error=error,
        notice=_notice(request),
    )


def _notice(request: Request) -> str | None:
    return {
        "done": tr(request, "Done."),
        "awaiting_approval": tr(
            request, "Asked: a second operator must approve it, at or above the threshold."
        ),
        "approved": tr(request, "Approved: it is carried out."),
        "refused": tr(request, "Refused: nothing moved, the exception stays open."),
    }.get(request.query_params.get("done", ""))


@router.get("/operator/exceptions/{exception_id}")
def exception_page(request: Request, db: DB, exception_id: int) -> Response:
    who = operator_or_page(request, db)
    if isinstance(who, Response):
        return who
    return _exception_page(request, db, who, exception_id)


# What each action's button calls, with the form's fields (the actor is the operator).
ACTIONS: dict[str, Callable[..., Any]] = {
    "match": lambda db, n, form, actor: exceptions.match_by_hand(
        db, n, form.get("target", "").strip() or None, actor=actor
    ),
    "return": lambda db, n, form, actor: exceptions.return_to_sender(db, n, actor=actor),
    "suspense": lambda db, n, form, actor: exceptions.book_to_suspense(db, n, actor=actor),
    "release": lambda db, n, form, actor: exceptions.release_from_suspense(db, n, actor=actor),
    "dismiss": lambda db, n, form, actor: exceptions.dismiss(
        db, n, form.get("reason", ""), actor=actor
    ),
}


@router.post("/operator/exceptions/{exception_id}/{action}")
async def act(request: Request, db: DB, exception_id: int, action: str) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    call = ACTIONS.get(action)
    if call is None:
        return refused(request, refusal_text(request, "route_not_found"), 404, who=who)
    try:
        result = await run_in_threadpool(call, db, exception_id, form, who.handle)
    except YirongError as exc:
        if exc.code == "exception_resolved":  # a second click, or a colleague first
            return see_other(f"/operator/exceptions/{exception_id}")
        error = refusal_text(request, exc.code)
        return _exception_page(request, db, who, exception_id, 422, error)
    return see_other(f"/operator/exceptions/{exception_id}?done={result.status}")


@router.post("/operator/approvals/{approval_id}/{decision}")
async def decide(request: Request, db: DB, approval_id: int, decision: str) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    exception_id = int(form.get("exception", "0") or 0)
    try:
        if decision == "approve":
            await run_in_threadpool(lambda: exceptions.approve(db, approval_id, actor=who.handle))
        elif decision == "refuse":
            reason = form.get("reason", "")
            await run_in_threadpool(
                lambda: exceptions.refuse(db, approval_id, reason, actor=who.handle)
            )
        else:
            return refused(request, refusal_text(request, "route_not_found"), 404, who=who)
    except YirongError as exc:
        if exc.code == "approval_decided":
            return see_other(f"/operator/exceptions/{exception_id}")
        error = refusal_text(request, exc.code)
        return _exception_page(request, db, who, exception_id, 422, error)
    done = "approved" if decision == "approve" else "refused"
    return see_other(f"/operator/exceptions/{exception_id}?done={done}")


@router.get("/operator/exceptions.csv")
def exceptions_export(request: Request, db: DB, status: str = "open", kind: str = "") -> Response:
    """The queue as filtered, every page of it, for a finance person to take away."""
    who = operator_or_page(request, db)
    if isinstance(who, Response):
        return who
    shown_status = status if status in ("open", "resolved") else None
    shown_kind = kind if kind in set(ExceptionKind) else None
    kinds = {code: tr(request, text) for code, text in i18n.EXCEPTION_KINDS.items()}

    def rows() -> Iterator[list[object]]:
        after = 0
        while True:
            found = exceptions.list_exceptions(
                db, status=shown_status, kind=shown_kind, after=after, limit=2_000
            )
            for e in found:
                line = e.line
                yield [
                    e.id,
                    kinds.get(e.kind, e.kind),
                    e.status,
                    yuan_number(e.amount),
                    e.opened_on.isoformat(),
                    e.age_days,
                    line.bank_serial if line else "",
                    line.counterparty_name if line else "",
                    line.memo if line else "",
                    e.proposal or "",
                    e.resolution or "",
                ]
            if len(found) < 2_000:
                return
            after = found[-1].id

    header = [tr(request, name) for name in EXCEPTION_COLUMNS]
    return csv_response("exceptions.csv", header, rows())


EXCEPTION_COLUMNS = (
    N_("Exception"),
    N_("Kind"),
    N_("Status"),
    N_("Amount"),
    N_("Opened on"),
    N_("Age in days"),
    N_("Bank serial"),
    N_("Counterparty"),
    N_("Memo"),
    N_("Proposed match"),
    N_("Resolution"),
)
