"""Freezes for the operations team: the funders' contractual requests, applied or
declined; the active freezes, lifted where an operator may (never an overdue loan's)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.api.security import DB
from yirong.console import i18n
from yirong.console.forms import (
    operator_or_page,
    role_form,
    see_other,
    tr,
)
from yirong.console.pages import PAGE, refusal_text, refused, render
from yirong.errors import YirongError
from yirong.loans.freeze_requests import (
    apply_freeze_request,
    decline_freeze_request,
    freeze_requests,
)
from yirong.roles import Role
from yirong.wallets import service as wallets

router = APIRouter(include_in_schema=False)


LIFTABLE = ("funder_request", "legal_order", "risk")  # wallets.lift_freeze's (not overdue)


@router.get("/operator/freezes")
def freezes_page(request: Request, db: DB, reason: str = "", after: int = 0) -> Response:
    who = operator_or_page(request, db)
    if isinstance(who, Response):
        return who
    shown = reason if reason in i18n.FREEZES else None
    found = wallets.active_freezes(db, reason=shown, after=after, limit=PAGE + 1)
    return render(
        request,
        "operator_freezes.html",
        who=who,
        requests=freeze_requests(db, status="requested", limit=200),
        found=found[:PAGE],
        next_after=found[PAGE - 1].id if len(found) > PAGE else None,
        shown=shown or "",
        why=i18n.FREEZES,
        liftable=LIFTABLE,
        notice=tr(request, "Done.") if request.query_params.get("done") else None,
    )


@router.post("/operator/freeze-requests/{request_id}/{decision}")
async def decide_freeze(request: Request, db: DB, request_id: int, decision: str) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    note = form.get("note", "")
    try:
        if decision == "apply":
            await run_in_threadpool(apply_freeze_request, db, request_id, who.handle, note or None)
        elif decision == "decline":
            await run_in_threadpool(decline_freeze_request, db, request_id, who.handle, note)
        else:
            return refused(request, refusal_text(request, "route_not_found"), 404, who=who)
    except YirongError as exc:
        if exc.code == "freeze_request_decided":  # a second click, or a colleague first
            return see_other("/operator/freezes")
        return refused(request, refusal_text(request, exc.code), 409, who=who)
    return see_other("/operator/freezes?done=1")


@router.post("/operator/freezes/lift")
async def lift(request: Request, db: DB) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    reason, note = form.get("reason", ""), form.get("note", "").strip()
    wallet = form.get("wallet", "")
    try:
        await run_in_threadpool(
            lambda: wallets.lift_freeze(db, wallet, reason, note=note, actor=who.handle)
        )
    except YirongError as exc:
        if exc.code == "wallet_not_frozen":  # lifted already (a second click)
            return see_other("/operator/freezes")
        return refused(request, refusal_text(request, exc.code), 422, who=who)
    return see_other("/operator/freezes?done=1")
