"""The funder's order financing pages: the financings asked of it (those waiting
first); one financing whole (the order, its documents with their SHA-256 and its
confirmation, what keeps the supplier from being paid, the payout and its bank
receipt, the loan), approved or declined with a reason; and its concentration by
supplier and by agent. Another funder's financing answers as a missing one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.access.principals import Principal
from yirong.api.security import DB
from yirong.console.forms import funder_or_page, role_form, see_other, tr
from yirong.console.order_pages import download, labels
from yirong.console.pages import refusal_text, refused, render
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.orders.book import FinancingDetail, concentration, financing_detail
from yirong.orders.financing import (
    approve_financing,
    financings,
    payout_gate,
    reject_financing,
)
from yirong.orders.purchase import document_content
from yirong.roles import Role

router = APIRouter(include_in_schema=False)
OPEN = ("requested", "approved")  # a payout gate still matters
# Its documents are not shown once a financing closed without the funder's money (the
# order may be financed by another since), as through the API.
CLOSED_UNLENT = ("rejected", "cancelled")


@router.get("/funder/order-financings")
def financings_page(request: Request, db: DB) -> Response:
    who = funder_or_page(request, db)
    if isinstance(who, Response):
        return who
    found = financings(db, funder_code=who.subject)
    waiting_first = sorted(reversed(found), key=lambda f: f.status != "requested")
    return render(request, "funder_order_financings.html", who=who, found=waiting_first, **labels())


def _detail_page(
    request: Request,
    db: Database,
    who: Principal,
    detail: FinancingDetail,
    status: int = 200,
    error: str | None = None,
) -> Response:
    f = detail.financing
    notice = {
        "approved": tr(
            request, "Approved: your transfer must quote the order reference shown below."
        ),
        "rejected": tr(request, "Declined: the agent's hold is released."),
    }.get(request.query_params.get("done", ""))
    return render(
        request,
        "funder_order_financing.html",
        status,
        who=who,
        detail=detail,
        f=f,
        order=detail.order,
        missing=payout_gate(db, f.reference) if f.status in OPEN else None,
        documents_shown=f.status not in CLOSED_UNLENT,
        error=error,
        notice=notice,
        **labels(),
    )


@router.get("/funder/order-financings/{reference}")
def financing_page(request: Request, db: DB, reference: str) -> Response:
    who = funder_or_page(request, db)
    if isinstance(who, Response):
        return who
    try:
        detail = financing_detail(db, reference, funder_code=who.subject)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)
    return _detail_page(request, db, who, detail)


@router.get("/funder/order-financings/{reference}/documents/{document}")
def funder_document(request: Request, db: DB, reference: str, document: str) -> Response:
    who = funder_or_page(request, db)
    if isinstance(who, Response):
        return who
    try:
        detail = financing_detail(db, reference, funder_code=who.subject)
        if detail.financing.status in CLOSED_UNLENT:
            raise YirongError("financing_not_open", financing=reference)
        return download(*document_content(db, detail.order.reference, document))
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)


@router.post("/funder/order-financings/{reference}/{decision}")
async def decide(request: Request, db: DB, reference: str, decision: str) -> Response:
    taken = await role_form(request, db, Role.FUNDER)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    try:
        detail = financing_detail(db, reference, funder_code=who.subject)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)
    reason = form.get("reason", "").strip()
    try:
        if decision == "approve":
            await run_in_threadpool(approve_financing, db, who.subject, reference)
        elif decision == "reject":
            if not reason:
                raise YirongError("reason_required")
            await run_in_threadpool(reject_financing, db, who.subject, reference, reason)
        else:
            return refused(request, refusal_text(request, "route_not_found"), 404, who=who)
    except YirongError as exc:
        if exc.code == "financing_not_open":  # decided already: the page as it stands
            return see_other(f"/funder/order-financings/{reference}")
        return _detail_page(request, db, who, detail, 422, refusal_text(request, exc.code))
    done = "approved" if decision == "approve" else "rejected"
    return see_other(f"/funder/order-financings/{reference}?done={done}")


@router.get("/funder/order-concentration")
def concentration_page(request: Request, db: DB) -> Response:
    who = funder_or_page(request, db)
    if isinstance(who, Response):
        return who
    return render(
        request, "funder_concentration.html", who=who, book=concentration(db, who.subject)
    )
