"""The agent's money pages: borrowing, with the schedule (interest, fee, what falls
due when) shown before it is confirmed; repaying, with the allocation shown before it
is confirmed. Every confirming form carries the key the page was given, so a double
click or a reload moves money once (the repayment's own idempotency)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.access.principals import Principal
from yirong.api.security import DB
from yirong.console.forms import agent_form, agent_or_page, key_of, new_key
from yirong.console.pages import refusal_text, render
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.loans.drawdowns import preview_drawdown, request_drawdown
from yirong.loans.queries import preview_repayment
from yirong.loans.repayments import repay
from yirong.loans.standing import agent_standing, line_use
from yirong.money import parse_yuan

router = APIRouter(include_in_schema=False)


def _amount(text: str) -> int | None:
    """The form's amount in fen; empty is everything owed."""
    return parse_yuan(text) if text.strip() else None


def _asked_again(
    request: Request, db: Database, who: Principal, code: str, amount: str
) -> Response:
    """The repayment's form again, saying why it was refused; nothing moved."""
    standing = agent_standing(db, who.subject)
    error = refusal_text(request, code)
    return render(
        request, "repay.html", 422, who=who, standing=standing, error=error, amount=amount
    )


@router.get("/agent/repay")
def repay_page(request: Request, db: DB) -> Response:
    who = agent_or_page(request, db)
    if isinstance(who, Response):
        return who
    return render(request, "repay.html", who=who, standing=agent_standing(db, who.subject))


@router.post("/agent/repay/preview")
async def repay_preview(request: Request, db: DB) -> Response:
    taken = await agent_form(request, db)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    text = form.get("amount", "")
    standing = agent_standing(db, who.subject)
    try:
        preview = preview_repayment(db, who.subject, _amount(text))
    except YirongError as exc:
        return _asked_again(request, db, who, exc.code, text)
    key = new_key()
    return render(
        request, "repay.html", who=who, standing=standing, preview=preview, amount=text, key=key
    )


@router.post("/agent/repay")
async def repay_confirmed(request: Request, db: DB) -> Response:
    taken = await agent_form(request, db)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    text = form.get("amount", "")
    try:
        key = key_of(form)
        made = await run_in_threadpool(repay, db, who.subject, _amount(text), key)
    except YirongError as exc:
        return _asked_again(request, db, who, exc.code, text)
    return render(request, "repaid.html", who=who, made=made)


# ---------------------------------------------------------------- borrowing


def _borrow_again(
    request: Request, db: Database, who: Principal, code: str, form: dict[str, str]
) -> Response:
    """The drawdown's form again, saying why it was refused; nothing was asked for."""
    error = refusal_text(request, code)
    use = line_use(db, who.subject)
    return render(request, "borrow.html", 422, who=who, use=use, error=error, form=form)


def _term(form: dict[str, str]) -> int:
    text = form.get("term_days", "").strip()
    if not text.isdigit():
        raise YirongError("term_invalid", term_days=text)
    return int(text)


@router.get("/agent/borrow")
def borrow_page(request: Request, db: DB) -> Response:
    who = agent_or_page(request, db)
    if isinstance(who, Response):
        return who
    return render(request, "borrow.html", who=who, use=line_use(db, who.subject), form={})


@router.post("/agent/borrow/preview")
async def borrow_preview(request: Request, db: DB) -> Response:
    taken = await agent_form(request, db)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    try:
        amount, term = parse_yuan(form.get("amount", "")), _term(form)
        schedule = preview_drawdown(db, who.subject, amount, term)
    except YirongError as exc:
        return _borrow_again(request, db, who, exc.code, form)
    use, key = line_use(db, who.subject), new_key()
    return render(request, "borrow.html", who=who, use=use, form=form, schedule=schedule, key=key)


@router.post("/agent/borrow")
async def borrow_confirmed(request: Request, db: DB) -> Response:
    taken = await agent_form(request, db)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    try:
        key = key_of(form)
        amount, term = parse_yuan(form.get("amount", "")), _term(form)
        order = await run_in_threadpool(request_drawdown, db, who.subject, amount, term, key)
    except YirongError as exc:
        return _borrow_again(request, db, who, exc.code, form)
    return render(request, "borrowed.html", who=who, order=order)
