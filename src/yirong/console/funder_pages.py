"""The funder's credit officer's pages: its book (figures and buckets as a chart), its
application queue, one application with the applicant's details under its consent
(each look logged, as through the API) and the decision (approve with limit, rate
and validity, or reject with a reason), its loans past due and the contractual
freezes it asks for. They call the credit and loans service functions the API calls;
another funder's records answer as missing ones."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.access.principals import Principal
from yirong.agents.service import AgentView
from yirong.api.security import DB
from yirong.books.service import current_business_date
from yirong.console import charts, i18n
from yirong.console.exports import csv_response, yuan_number
from yirong.console.forms import role_form, see_other, signed_in_as, tr
from yirong.console.i18n import N_
from yirong.console.pages import language, refusal_text, refused, render
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
from yirong.loans.buckets import NAMES, bucket, days_past_due
from yirong.loans.freeze_requests import asked_for, latest_freeze_requests, request_freeze
from yirong.loans.queries import list_drawdowns
from yirong.loans.standing import funder_portfolio, past_due_loans
from yirong.loans.statements import Statement, revenue_share_statement
from yirong.loans.vintage import vintages, watch_list
from yirong.money import PPM, parse_percent, parse_yuan
from yirong.roles import Role
from yirong.wallets.history import monthly_flows

router = APIRouter(include_in_schema=False)
PAGE = 25
STATUSES = ("submitted", "approved", "rejected", "withdrawn")
PAST_DUE_BUCKETS = NAMES[1:]  # M1 to M3+: a loan past due is never in M0


def _funder(request: Request, db: Database) -> Principal | Response:
    return signed_in_as(request, db, Role.FUNDER)


@router.get("/funder")
def funder_home(request: Request, db: DB) -> Response:
    who = _funder(request, db)
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
    who = _funder(request, db)
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
    who = _funder(request, db)
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


# ---------------------------------------------------------------- loans past due


@router.get("/funder/loans")
def past_due_page(request: Request, db: DB, page: int = 0, bucket: str = "") -> Response:
    who = _funder(request, db)
    if isinstance(who, Response):
        return who
    page = max(page, 0)
    shown = bucket if bucket in PAST_DUE_BUCKETS else None  # anything else: every one
    loans = past_due_loans(db, who.subject, limit=PAGE + 1, offset=page * PAGE, bucket=shown)
    asked = asked_for(db, who.subject, [loan.agent_code for loan in loans[:PAGE]])
    return render(
        request,
        "funder_loans.html",
        who=who,
        loans=loans[:PAGE],
        page=page,
        more=len(loans) > PAGE,
        asked=asked,
        buckets=PAST_DUE_BUCKETS,
        shown=shown or "",
        notice=tr(request, "Asked: an operator applies the freeze or declines it.")
        if request.query_params.get("done")
        else None,
    )


@router.post("/funder/freeze-requests")
async def ask_freeze(request: Request, db: DB) -> Response:
    taken = await role_form(request, db, Role.FUNDER)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    note = form.get("note", "").strip() or tr(request, "Loan past due; freeze under the contract.")
    try:
        await run_in_threadpool(request_freeze, db, who.subject, form.get("agent", ""), note)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 409, who=who)
    return see_other("/funder/loans?done=asked")


@router.get("/funder/freeze-requests")
def freeze_requests_page(request: Request, db: DB, before: int | None = None) -> Response:
    who = _funder(request, db)
    if isinstance(who, Response):
        return who
    found = latest_freeze_requests(db, who.subject, before=before, limit=PAGE + 1)
    return render(
        request,
        "funder_freezes.html",
        who=who,
        requests=found[:PAGE],
        older=found[PAGE - 1].id if len(found) > PAGE else None,
        freeze_statuses=i18n.FREEZE_REQUEST_STATUSES,
    )


# ---------------------------------------------------------------- revenue-share statements


def _statement(request: Request, db: Database) -> tuple[Principal, Statement] | Response:
    """The signed-in funder's statement of the month asked for (by default the
    business date's), or the page that says why not."""
    who = _funder(request, db)
    if isinstance(who, Response):
        return who
    month = request.query_params.get("month") or current_business_date(db).strftime("%Y-%m")
    try:
        return who, revenue_share_statement(db, who.subject, month)
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 422, who=who)


@router.get("/funder/statements")
def statement_page(request: Request, db: DB) -> Response:
    found = _statement(request, db)
    if isinstance(found, Response):
        return found
    who, statement = found
    month = statement.month
    return render(
        request,
        "statement.html",
        who=who,
        statement=statement,
        month=month,
        share_rate=Decimal(statement.revenue_share_ppm) / PPM,
        kinds={"repayment": N_("Repayment"), "reversal": N_("Repayment reversed")},
    )


@router.get("/funder/statements.csv")
def statement_export(request: Request, db: DB) -> Response:
    found = _statement(request, db)
    if isinstance(found, Response):
        return found
    who, statement = found
    month = statement.month
    kinds = {"repayment": tr(request, "Repayment"), "reversal": tr(request, "Repayment reversed")}
    rows = (
        [
            line.business_date.isoformat(),
            line.repayment_id,
            line.agent_code,
            kinds[line.kind],
            yuan_number(line.interest),
            yuan_number(line.penalty),
            yuan_number(line.share),
        ]
        for line in statement.lines
    )
    header = [tr(request, name) for name in STATEMENT_COLUMNS]
    return csv_response(f"revenue-share-{who.subject}-{month}.csv", header, rows)


STATEMENT_COLUMNS = (
    N_("Date"),
    N_("Repayment"),
    N_("Agent"),
    N_("Kind"),
    N_("Interest"),
    N_("Penalty"),
    N_("Platform's share"),
)


# ---------------------------------------------------------------- candidates


@router.get("/funder/candidates")
def candidates_page(request: Request, db: DB, after: int = 0) -> Response:
    """Agents who opted in, by their token for this funder and their figures only,
    with what the funder offers each today; every showing logged as a sharing."""
    who = _funder(request, db)
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


# ---------------------------------------------------------------- vintages and the watch list


@router.get("/funder/portfolio")
def portfolio_page(request: Request, db: DB) -> Response:
    who = _funder(request, db)
    if isinstance(who, Response):
        return who
    found = vintages(db, who.subject)
    return render(
        request,
        "funder_portfolio.html",
        who=who,
        vintages=found,
        horizon=len(found[0].past_due) if found else 0,
        chart=charts.vintage_chart(found, language(request)),
    )


@router.get("/funder/portfolio.csv")
def portfolio_export(request: Request, db: DB) -> Response:
    """Every loan of the funder's that money went out for, as it stands today."""
    who = _funder(request, db)
    if isinstance(who, Response):
        return who
    today = current_business_date(db)
    statuses = {code: tr(request, text) for code, text in i18n.LOAN_STATUSES.items()}

    def rows() -> Iterator[list[object]]:
        after = 0
        while True:  # a page at a time, each its own short read
            found = list_drawdowns(db, funder_code=who.subject, after=after, limit=5_000)
            for d in found:
                if d.credited_on is None:
                    continue  # an order no money came for is no loan
                dpd = days_past_due(d.due_date, today) if d.closed_on is None else 0
                yield [
                    d.order_ref,
                    d.agent_code,
                    d.credited_on.isoformat(),
                    d.due_date.isoformat() if d.due_date else "",
                    statuses.get(d.status, d.status),
                    yuan_number(d.amount),
                    yuan_number(d.principal),
                    dpd,
                    bucket(dpd),
                    yuan_number(d.interest_paid),
                    yuan_number(d.penalty_paid),
                ]
            if len(found) < 5_000:
                return
            after = found[-1].id

    header = [tr(request, name) for name in PORTFOLIO_COLUMNS]
    return csv_response(f"portfolio-{who.subject}-{today.isoformat()}.csv", header, rows())


PORTFOLIO_COLUMNS = (
    N_("Loan"),
    N_("Agent"),
    N_("Lent on"),
    N_("Due date"),
    N_("Status"),
    N_("Lent"),
    N_("Principal outstanding"),
    N_("Days past due"),
    N_("Bucket"),
    N_("Interest paid"),
    N_("Penalty paid"),
)


@router.get("/funder/watch")
def watch_page(request: Request, db: DB, after: int = 0) -> Response:
    who = _funder(request, db)
    if isinstance(who, Response):
        return who
    found = watch_list(db, who.subject, after=max(after, 0), limit=PAGE + 1)
    shown = found[:PAGE]
    lang = language(request)
    trends = {
        w.agent_code: charts.trend_chart(monthly_flows(db, f"agent:{w.agent_code}"), lang)
        for _, w in shown
    }
    return render(
        request,
        "funder_watch.html",
        who=who,
        found=[w for _, w in shown],
        trends=trends,
        next_after=shown[-1][0] if len(found) > PAGE else None,
    )
