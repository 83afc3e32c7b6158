"""The funder's credit officer's pages before and at lending: its book (figures and
buckets as a chart), its candidates (by token and figures only, with its own offers),
its application queue, and one application with the applicant shown under its
consent (each look logged, as through the API) and its decision (approve with limit,
rate and validity, or reject with a reason). Its other pages: ``funder_book_pages``,
``statement_pages``, ``funder_system_pages`` and its products in
``funder_admin_pages``. Another funder's records answer as missing ones."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.access.principals import Principal
from yirong.agents.service import AgentView
from yirong.api.security import DB
from yirong.console import charts, i18n
from yirong.console.forms import (
    funder_or_page,
    role_form,
    see_other,
    tr,
)
from yirong.console.pages import PAGE, refusal_text, refused, render
from yirong.credit.applications import (
    REJECTION_REASONS,
    ApplicationView,
    applicant_data,
    approve_application,
    reject_application,
)
from yirong.credit.disclosure import candidates
from yirong.credit.offers import offer_view
from yirong.credit.queries import get_application, list_applications
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.loans.standing import funder_portfolio
from yirong.money import parse_percent, parse_yuan
from yirong.roles import Role

router = APIRouter(include_in_schema=False)
STATUSES = ("submitted", "approved", "rejected", "withdrawn")


@router.get("/funder")
def funder_home(request: Request, db: DB) -> Response:
    who = funder_or_page(request, db)
    if isinstance(who, Response):
        return who
    book = funder_portfolio(db, who.subject)
    chart = charts.buckets_chart(book.buckets, tr(request, "Principal"))
    waiting = list_applications(db, funder_code=who.subject, status="submitted", limit=PAGE + 1)
    return render(
        request,
        "funder_home.html",
        who=who,
        book=book,
        chart=chart,
        principal=sum(b.principal for b in book.buckets),
        interest=sum(b.interest_due for b in book.buckets),
        penalty=sum(b.penalty_due for b in book.buckets),
        past_due=sum(b.loans for b in book.buckets if b.bucket != "M0"),
        waiting=len(waiting),
        more_waiting=len(waiting) > PAGE,
    )


# ---------------------------------------------------------------- applications


@router.get("/funder/applications")
def applications_page(
    request: Request, db: DB, status: str = "submitted", after: int = 0
) -> Response:
    who = funder_or_page(request, db)
    if isinstance(who, Response):
        return who
    shown = status if status in STATUSES else None  # anything else: every status
    found = list_applications(
        db, funder_code=who.subject, status=shown, after=after, limit=PAGE + 1
    )
    return render(
        request,
        "funder_applications.html",
        who=who,
        applications=found[:PAGE],
        shown=shown or "",
        next_after=found[PAGE - 1].id if len(found) > PAGE else None,
        statuses=i18n.APPLICATION_STATUSES,
        reasons=i18n.REJECTIONS,
    )


def _own_application(db: Database, who: Principal, application_id: int) -> ApplicationView:
    found = get_application(db, application_id)
    if found.funder_code != who.subject:  # another funder's: as if there were none
        raise YirongError("application_not_found", application=application_id)
    return found


def _application_page(
    request: Request,
    db: Database,
    who: Principal,
    application: ApplicationView,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    offer = offer_view(db, application.offer_id)
    applicant: AgentView | None = None
    unreadable = None
    if application.status == "submitted":
        try:  # every look is logged against the consent, as through the API
            applicant = applicant_data(db, application.id, funder_code=who.subject)
        except YirongError as exc:
            unreadable = refusal_text(request, exc.code)
    form = form or {
        "credit_limit": f"{offer.credit_limit / 100:.2f}",
        "annual_rate": f"{offer.annual_rate * 100:.2f}",
        "valid_days": "",
    }
    notice = {
        "approved": tr(request, "Approved: the agent's credit line is open."),
        "rejected": tr(request, "Declined: the agent is told, and may apply elsewhere."),
    }.get(request.query_params.get("done", ""))
    return render(
        request,
        "funder_application.html",
        status,
        who=who,
        application=application,
        offer=offer,
        applicant=applicant,
        unreadable=unreadable,
        form=form,
        error=error,
        notice=notice,
        statuses=i18n.APPLICATION_STATUSES,
        reasons={code: i18n.REJECTIONS[code] for code in REJECTION_REASONS},
        labels=i18n.FIRM_FIELDS,
        methods=i18n.METHODS,
    )


@router.get("/funder/applications/{application_id}")
def application_page(request: Request, db: DB, application_id: int) -> Response:
    who = funder_or_page(request, db)
    if isinstance(who, Response):
        return who
    try:
        application = _own_application(db, who, application_id)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)
    return _application_page(request, db, who, application)


@router.post("/funder/applications/{application_id}/approve")
async def approve(request: Request, db: DB, application_id: int) -> Response:
    taken = await _decision(request, db, application_id)
    if isinstance(taken, Response):
        return taken
    who, form, application = taken
    try:
        limit, rate = parse_yuan(form.get("credit_limit", "")), _rate(form)
        days = _days(form.get("valid_days", ""))
        await run_in_threadpool(
            lambda: approve_application(
                db,
                application_id,
                funder_code=who.subject,
                credit_limit=limit,
                annual_rate=rate,
                valid_days=days,
            )
        )
    except YirongError as exc:
        return _decided_or_again(request, db, who, application, exc, form)
    return see_other(f"/funder/applications/{application_id}?done=approved")


@router.post("/funder/applications/{application_id}/reject")
async def reject(request: Request, db: DB, application_id: int) -> Response:
    taken = await _decision(request, db, application_id)
    if isinstance(taken, Response):
        return taken
    who, form, application = taken
    try:
        await run_in_threadpool(
            lambda: reject_application(
                db, application_id, funder_code=who.subject, reason_code=form.get("reason", "")
            )
        )
    except YirongError as exc:
        return _decided_or_again(request, db, who, application, exc, form)
    return see_other(f"/funder/applications/{application_id}?done=rejected")


async def _decision(
    request: Request, db: Database, application_id: int
) -> tuple[Principal, dict[str, str], ApplicationView] | Response:
    """A decision's form: its CSRF token, the funder's officer, and the application,
    if it is this funder's (another's answers as a missing one)."""
    taken = await role_form(request, db, Role.FUNDER)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    try:
        return who, form, _own_application(db, who, application_id)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)


def _decided_or_again(
    request: Request,
    db: Database,
    who: Principal,
    application: ApplicationView,
    exc: YirongError,
    form: dict[str, str],
) -> Response:
    """Decided already (a second click, or a colleague): the page as it stands now;
    any other refusal: the form again, saying why, nothing decided."""
    if exc.code == "application_already_decided":
        return see_other(f"/funder/applications/{application.id}")
    error = refusal_text(request, exc.code)
    return _application_page(request, db, who, application, 422, error, form)


def _rate(form: dict[str, str]) -> Decimal:
    return parse_percent(form.get("annual_rate", ""))


def _days(text: str) -> int | None:
    """Days the line is valid; empty: the product's own validity."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise YirongError("valid_days_invalid", valid_days=text)
    return int(text)  # the service refuses a number outside its bounds


# ---------------------------------------------------------------- candidates


@router.get("/funder/candidates")
def candidates_page(request: Request, db: DB, after: int = 0) -> Response:
    """Agents who opted in, by their token for this funder and their figures only,
    with what the funder offers each today; every showing logged as a sharing."""
    who = funder_or_page(request, db)
    if isinstance(who, Response):
        return who
    found, more = candidates(db, who.subject, after=max(after, 0), limit=PAGE)
    return render(
        request,
        "funder_candidates.html",
        who=who,
        found=[c for _, c in found],
        next_after=found[-1][0] if more and found else None,
        features=i18n.FEATURES,
    )
