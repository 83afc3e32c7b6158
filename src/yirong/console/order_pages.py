"""The agent's order financing pages (订单融资): its purchase orders and their
financings; an order entered from a whitelisted supplier; one order with its lines,
its documents (each kept with its SHA-256), and the advance asked for, prefilled at
the most the facility's product allows, with the agent's part, the margin held and
the term shown first; a financing called off before the supplier is paid. Forms that
create a record carry the key the page was given: a double click records once."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from yirong.access.principals import Principal
from yirong.api.security import DB
from yirong.api.uploads import DOCUMENT_TYPES
from yirong.books.service import current_business_date
from yirong.console import i18n
from yirong.console.forms import agent_form, agent_or_page, key_of, new_key, see_other, tr
from yirong.console.pages import refusal_text, refused, render
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.money import format_fen, parse_yuan
from yirong.orders import financing as fin
from yirong.orders import model
from yirong.orders.financing import (
    FinancingView,
    cancel_financing,
    financings,
    request_financing,
)
from yirong.orders.purchase import (
    MAX_DOCUMENT_BYTES,
    DocumentView,
    GoodsLine,
    OrderView,
    attach_document,
    document_content,
    enter_order,
    get_order,
    orders_of,
)
from yirong.orders.suppliers import suppliers
from yirong.orders.tables import HOLDS_ORDER

router = APIRouter(include_in_schema=False)
GOODS_ROWS = 3  # the lines of goods the form offers
# The one console form that sends a file (multipart, unlike every other console form):
# one path without parameters, so that the app's body rules can name it exactly
# (``site.install`` adds it to them).
UPLOAD_PATH = "/agent/order-documents"  # its body rule: api.observability.RAW_BODIES


@dataclass(frozen=True, slots=True)
class Offered:
    """The most the order may be advanced, as the request would split it."""

    advance: int
    parts: model.Split
    term_days: int


def offered(order: OrderView, terms: fin.FacilityTerms, today: date) -> Offered:
    advance = model.max_advance(order.net, terms.advance_rate_ppm)
    return Offered(
        advance,
        model.split(order.net, advance, terms.margin_ppm),
        model.term_days(today, order.expected_delivery, model.SELL_THROUGH_DAYS),
    )


def download(document: DocumentView, content: bytes) -> Response:
    """The document as it was uploaded, with its SHA-256 to check it by."""
    plain = document.filename.encode("ascii", "replace").decode().replace('"', "_")
    return Response(
        content,
        media_type=document.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{plain}"; '
            f"filename*=UTF-8''{quote(document.filename)}",
            "X-Content-SHA256": document.sha256,
        },
    )


def labels() -> dict[str, Any]:
    """The words an order's or a financing's page puts to its codes."""
    return {
        "order_statuses": i18n.ORDER_STATUSES,
        "financing_statuses": i18n.FINANCING_STATUSES,
        "kinds": i18n.DOCUMENT_KINDS,
        "gate": i18n.PAYOUT_GATE,
        "loan_statuses": i18n.LOAN_STATUSES,
    }


# ---------------------------------------------------------------- the orders


def _orders_page(
    request: Request,
    db: Database,
    who: Principal,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    by_order: dict[str, list[FinancingView]] = {}
    for f in financings(db, agent_code=who.subject):
        by_order.setdefault(f.order, []).append(f)
    form = form or {"key": new_key()}
    return render(
        request,
        "agent_orders.html",
        status,
        who=who,
        orders=list(reversed(orders_of(db, who.subject))),
        by_order=by_order,
        terms=fin.facility_terms(db, who.subject),
        suppliers=[s for s in suppliers(db) if s.whitelisted],
        rows=range(1, GOODS_ROWS + 1),
        form=form,
        error=error,
        **labels(),
    )


@router.get("/agent/orders")
def orders_page(request: Request, db: DB) -> Response:
    who = agent_or_page(request, db)
    if isinstance(who, Response):
        return who
    return _orders_page(request, db, who)


def _goods(form: dict[str, str]) -> list[GoodsLine]:
    """The form's lines of goods (a row left empty is not one); prices in yuan."""
    goods = []
    for n in range(1, GOODS_ROWS + 1):
        description = form.get(f"description_{n}", "").strip()
        quantity = form.get(f"quantity_{n}", "").strip()
        price = form.get(f"unit_price_{n}", "").strip()
        if not (description or quantity or price):
            continue
        if not quantity.isdigit():
            raise YirongError("order_invalid", reason="a quantity is a whole number")
        goods.append(GoodsLine(description, int(quantity), parse_yuan(price)))
    return goods


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise YirongError("business_date_invalid", value=text[:20]) from exc


@router.post("/agent/orders")
async def enter(request: Request, db: DB) -> Response:
    taken = await agent_form(request, db)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    try:
        key, goods = key_of(form), _goods(form)
        delivery = _day(form.get("expected_delivery", ""))
        order = await run_in_threadpool(
            lambda: enter_order(
                db,
                who.subject,
                form.get("supplier", ""),
                form.get("order_no", ""),
                goods,
                delivery,
                key,
            )
        )
    except YirongError as exc:
        error = refusal_text(request, exc.code)
        return _orders_page(request, db, who, 422, error, form)
    return see_other(f"/agent/orders/{order.reference}")


# ---------------------------------------------------------------- one order


def _own_order(db: Database, who: Principal, reference: str) -> OrderView:
    order = get_order(db, reference)
    if order.agent != who.subject:  # another's order: as if there were none
        raise YirongError("order_not_found", order=reference)
    return order


def _order_page(
    request: Request,
    db: Database,
    who: Principal,
    order: OrderView,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    found = [f for f in financings(db, agent_code=who.subject) if f.order == order.reference]
    terms = fin.facility_terms(db, who.subject)
    offer = None if terms is None else offered(order, terms, current_business_date(db))
    held = any(f.status in HOLDS_ORDER for f in found)
    may_ask = offer is not None and not held and order.status != "cancelled"
    if form is None:
        form = {"advance": format_fen(offer.advance) if offer else "", "key": new_key()}
    notices = {
        "entered": tr(request, "The order is entered: its supplier confirms it next."),
        "attached": tr(request, "The document is kept."),
        "requested": tr(
            request, "Financing asked for: your part and the margin are held in your wallet."
        ),
        "cancelled": tr(
            request, "The financing is cancelled: what was held is back in your wallet."
        ),
    }
    return render(
        request,
        "agent_order.html",
        status,
        who=who,
        order=order,
        financings=found,
        terms=terms,
        offer=offer,
        may_ask=may_ask,
        form=form,
        sell_through=model.SELL_THROUGH_DAYS,
        error=error,
        notice=notices.get(request.query_params.get("done", "")),
        **labels(),
    )


@router.get("/agent/orders/{reference}")
def order_page(request: Request, db: DB, reference: str) -> Response:
    who = agent_or_page(request, db)
    if isinstance(who, Response):
        return who
    try:
        order = _own_order(db, who, reference)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)
    return _order_page(request, db, who, order)


@router.get("/agent/orders/{reference}/documents/{document}")
def agent_document(request: Request, db: DB, reference: str, document: str) -> Response:
    who = agent_or_page(request, db)
    if isinstance(who, Response):
        return who
    try:
        _own_order(db, who, reference)
        return download(*document_content(db, reference, document))
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)


@router.post(UPLOAD_PATH)
async def upload(request: Request, db: DB) -> Response:
    taken = await agent_form(request, db)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    reference = form.get("order", "")
    part = (await request.form()).get("file")
    try:
        order = _own_order(db, who, reference)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)
    try:
        if not isinstance(part, UploadFile):
            raise YirongError("document_invalid", kind=form.get("kind", "")[:24], size=0)
        content = await part.read(MAX_DOCUMENT_BYTES + 1)
        filename = part.filename or "document"
        media = mimetypes.guess_type(filename)[0] or ""
        media = media if media in DOCUMENT_TYPES else "application/octet-stream"
        await run_in_threadpool(
            lambda: attach_document(
                db,
                reference,
                form.get("kind", ""),
                filename,
                media,
                content,
                by=who.handle,
                agent_code=who.subject,
            )
        )
    except YirongError as exc:
        return _order_page(request, db, who, order, 422, refusal_text(request, exc.code))
    return see_other(f"/agent/orders/{quote(reference)}?done=attached")


@router.post("/agent/orders/{reference}/financings")
async def ask(request: Request, db: DB, reference: str) -> Response:
    taken = await agent_form(request, db)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    try:
        order = _own_order(db, who, reference)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)
    try:
        key, advance = key_of(form), parse_yuan(form.get("advance", ""))
        await run_in_threadpool(request_financing, db, who.subject, reference, advance, key)
    except YirongError as exc:
        error = refusal_text(request, exc.code)
        return _order_page(request, db, who, order, 422, error, form)
    return see_other(f"/agent/orders/{reference}?done=requested")


@router.post("/agent/order-financings/{reference}/cancel")
async def cancel(request: Request, db: DB, reference: str) -> Response:
    taken = await agent_form(request, db)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    back = form.get("order", "")
    try:
        done = await run_in_threadpool(cancel_financing, db, who.subject, reference)
    except YirongError as exc:
        if exc.code == "financing_not_open" and back:  # a second click: as it stands now
            return see_other(f"/agent/orders/{quote(back)}")
        return refused(request, refusal_text(request, exc.code), 409, who=who)
    return see_other(f"/agent/orders/{done.order}?done=cancelled")
