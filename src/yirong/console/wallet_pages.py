"""The agent's wallet pages: its movements, filtered by kind, direction and dates, a
page at a time; and a withdrawal to its bank card, whose form carries the key the
page was given, so a double click or a reload asks the bank once."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.access.principals import Principal
from yirong.api.security import DB
from yirong.console import i18n
from yirong.console.forms import agent_form, agent_or_page, key_of, new_key
from yirong.console.pages import refusal_text, render
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.ledger.statement import Cursor
from yirong.money import parse_yuan
from yirong.wallets import service as wallets
from yirong.wallets.history import KINDS, MovementsAsked, wallet_movements

router = APIRouter(include_in_schema=False)


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise YirongError("business_date_invalid", date=text) from exc


@router.get("/agent/movements")
def movements_page(request: Request, db: DB) -> Response:
    who = agent_or_page(request, db)
    if isinstance(who, Response):
        return who
    q = request.query_params
    shown = {name: q.get(name, "") for name in ("kind", "direction", "since", "until")}
    try:
        asked = MovementsAsked(
            shown["kind"], shown["direction"], _day(shown["since"]), _day(shown["until"])
        )
        page = wallet_movements(
            db,
            who.handle,
            asked,
            before=Cursor.parse(q.get("before")),
            after=Cursor.parse(q.get("after")),
        )
    except YirongError as exc:
        return render(
            request,
            "movements.html",
            422,
            who=who,
            shown=shown,
            page=None,
            kinds=i18n.MOVEMENT_KINDS,
            codes=i18n.ENTRY_CODES,
            error=refusal_text(request, exc.code),
        )
    filters = {k: v for k, v in shown.items() if v}
    return render(
        request,
        "movements.html",
        who=who,
        shown=shown,
        filters=filters,
        page=page,
        kinds={k: i18n.MOVEMENT_KINDS[k] for k in KINDS},
        codes=i18n.ENTRY_CODES,
    )


def _withdraw_page(
    request: Request,
    db: Database,
    who: Principal,
    status: int = 200,
    error: str | None = None,
    amount: str = "",
) -> Response:
    wallet = wallets.wallet(db, who.handle)
    return render(
        request,
        "withdraw.html",
        status,
        who=who,
        wallet=wallet,
        freezes=wallets.freezes_of(db, who.handle),
        why=i18n.FREEZES,
        key=new_key(),
        amount=amount,
        error=error,
    )


@router.get("/agent/withdraw")
def withdraw_page(request: Request, db: DB) -> Response:
    who = agent_or_page(request, db)
    if isinstance(who, Response):
        return who
    return _withdraw_page(request, db, who)


@router.post("/agent/withdraw")
async def withdraw(request: Request, db: DB) -> Response:
    taken = await agent_form(request, db)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    text = form.get("amount", "")
    try:
        key, amount = key_of(form), parse_yuan(text)
        made = await run_in_threadpool(wallets.request_withdrawal, db, who.handle, amount, key)
    except YirongError as exc:
        return _withdraw_page(request, db, who, 422, refusal_text(request, exc.code), text)
    return render(request, "withdrawn.html", who=who, amount=amount, made=made)
