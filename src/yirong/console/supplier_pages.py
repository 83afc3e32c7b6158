"""Suppliers and order payouts for the operations team: suppliers registered, their
settlement account verified, the whitelist kept; and the open order financings with
what keeps each supplier from being paid, an order confirmed on its supplier's
behalf, and the payout (受托支付) instructed once nothing is missing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.access.principals import Principal
from yirong.api.security import DB
from yirong.console.forms import operator_or_page, role_form, see_other, tr
from yirong.console.order_pages import labels
from yirong.console.pages import refusal_text, refused, render
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.orders.financing import financings, pay_supplier, payout_gate
from yirong.orders.purchase import confirm_order
from yirong.orders.suppliers import (
    SupplierInput,
    get_supplier,
    register_supplier,
    set_whitelisted,
    suppliers,
    verify_account,
)
from yirong.roles import Role

router = APIRouter(include_in_schema=False)
OPEN = ("requested", "approved", "paying")  # before the bank shows the supplier paid
TAKEN = ("supplier_code_taken", "supplier_firm_taken")  # registered before


def _suppliers_page(
    request: Request,
    db: Database,
    who: Principal,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "operator_suppliers.html",
        status,
        who=who,
        found=suppliers(db),
        form=form or {},
        error=error,
        notice=tr(request, "Done.") if request.query_params.get("done") else None,
    )


@router.get("/operator/suppliers")
def suppliers_page(request: Request, db: DB) -> Response:
    who = operator_or_page(request, db)
    if isinstance(who, Response):
        return who
    return _suppliers_page(request, db, who)


def _same_supplier(db: Database, data: SupplierInput) -> bool:
    """The supplier registered under the code is this one (a second click)."""
    try:
        found = get_supplier(db, data.code)
    except YirongError:
        return False
    return (found.name, found.uscc.upper()) == (data.name.strip(), data.uscc.strip().upper())


@router.post("/operator/suppliers")
async def register(request: Request, db: DB) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    data = SupplierInput(
        form.get("code", "").strip(),
        form.get("name", ""),
        form.get("uscc", ""),
        form.get("bank_account", ""),
        form.get("bank_name", ""),
        whitelisted=form.get("whitelisted") == "yes",
    )
    try:
        await run_in_threadpool(register_supplier, db, data)
    except YirongError as exc:
        if exc.code in TAKEN and _same_supplier(db, data):
            return see_other("/operator/suppliers?done=1")
        return _suppliers_page(request, db, who, 422, refusal_text(request, exc.code), form)
    return see_other("/operator/suppliers?done=1")


@router.post("/operator/suppliers/{code}/{action}")
async def supplier_action(request: Request, db: DB, code: str, action: str) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, _ = taken
    try:
        if action == "verify":
            await run_in_threadpool(lambda: verify_account(db, code, by=who.handle))
        elif action in ("whitelist", "delist"):
            await run_in_threadpool(set_whitelisted, db, code, action == "whitelist")
        else:
            return refused(request, refusal_text(request, "route_not_found"), 404, who=who)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)
    return see_other("/operator/suppliers?done=1")


# ---------------------------------------------------------------- payouts


@router.get("/operator/order-payouts")
def payouts_page(request: Request, db: DB) -> Response:
    who = operator_or_page(request, db)
    if isinstance(who, Response):
        return who
    found = [f for f in financings(db) if f.status in OPEN]
    notice = {
        "paid": tr(request, "The payment to the supplier is instructed."),
        "confirmed": tr(request, "The order is confirmed on its supplier's behalf."),
    }.get(request.query_params.get("done", ""))
    return render(
        request,
        "operator_order_payouts.html",
        who=who,
        found=[(f, payout_gate(db, f.reference)) for f in found],
        notice=notice,
        **labels(),
    )


@router.post("/operator/order-financings/{reference}/payout")
async def pay(request: Request, db: DB, reference: str) -> Response:
    """Instruct the payout; asking again while it is paid or being paid changes nothing
    (the service's own idempotency, by the financing's state)."""
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, _ = taken
    try:
        await run_in_threadpool(pay_supplier, db, reference)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 409, who=who)
    return see_other("/operator/order-payouts?done=paid")


@router.post("/operator/orders/{reference}/confirm")
async def confirm(request: Request, db: DB, reference: str) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, _ = taken
    try:
        await run_in_threadpool(lambda: confirm_order(db, reference, by=who.handle))
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 409, who=who)
    return see_other("/operator/order-payouts?done=confirmed")
