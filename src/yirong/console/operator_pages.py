"""The operations team's dashboard: the business date, the book, wallets frozen, what
waits, the last days of the books against the bank; and closing the day beside it,
its steps as they are done. The operators' other pages are ``exception_pages``,
``freeze_pages``, ``audit_pages`` and ``agent_admin_pages``; all call the service
functions the API calls, and the middleware audits every page, as the API's."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yirong.access.principals import Principal
from yirong.api.security import DB
from yirong.books.service import current_business_date
from yirong.console import charts, day_close, i18n
from yirong.console.forms import (
    operator_or_page,
    role_form,
    see_other,
    tr,
)
from yirong.console.pages import language, refusal_text, refused, render
from yirong.eod.service import eod_status, steps
from yirong.infra.db import Database
from yirong.loans.freeze_requests import (
    requested_count,
)
from yirong.loans.standing import platform_book
from yirong.reconciliation import exceptions
from yirong.reconciliation.kept_days import recent_days
from yirong.roles import Role
from yirong.wallets import service as wallets

router = APIRouter(include_in_schema=False)


@router.get("/operator")
def dashboard(request: Request, db: DB) -> Response:
    who = operator_or_page(request, db)
    if isinstance(who, Response):
        return who
    status = eod_status(db)
    planned = [name for name, _ in steps()]
    days = recent_days(db, days=10)
    book = platform_book(db)
    return render(
        request,
        "operator_home.html",
        who=who,
        today=status["business_date"],
        planned=planned,
        done=set(status["steps_done"]),
        step_names=i18n.EOD_STEPS,
        run=_runs(request).state(),
        days=days,
        items=i18n.RECON_ITEMS,
        chart=charts.recon_chart(
            days, tr(request, "Books"), tr(request, "Bank"), language(request)
        ),
        book=book,
        principal=sum(b.principal for b in book.buckets),
        loans=sum(b.loans for b in book.buckets),
        past_due=sum(b.loans for b in book.buckets if b.bucket != "M0"),
        counts=wallets.wallet_counts(db),
        waiting=exceptions.open_count(db),
        approvals=len(exceptions.approvals(db)),
        requests=requested_count(db),
    )


# ---------------------------------------------------------------- closing the day


def _runs(request: Request) -> day_close.DayClose:
    runs: day_close.DayClose = request.app.state.day_close
    return runs


def _eod_card(request: Request, db: Database, who: Principal) -> Response:
    status = eod_status(db)
    return render(
        request,
        "operator_eod.html",
        who=who,
        today=status["business_date"],
        planned=[name for name, _ in steps()],
        done=set(status["steps_done"]),
        step_names=i18n.EOD_STEPS,
        run=_runs(request).state(),
    )


@router.get("/operator/eod")
def eod_card(request: Request, db: DB) -> Response:
    """The end of day's card alone: the dashboard polls it while a run goes on."""
    who = operator_or_page(request, db)
    if isinstance(who, Response):
        return who
    return _eod_card(request, db, who)


@router.post("/operator/eod")
async def close_day(request: Request, db: DB) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    try:
        day = date.fromisoformat(form.get("business_date", ""))
    except ValueError:
        return refused(request, refusal_text(request, "business_date_invalid"), 422, who=who)
    if day == current_business_date(db):  # else closed already: a second click
        _runs(request).start(db, day)
    return see_other("/operator")
