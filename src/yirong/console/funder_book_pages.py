"""A funder's officer's book after lending: its loans past due (by bucket, a freeze
asked for in one click) and its freeze requests; its vintages (by month lent, the
share 30+ days past due at each month's end on book) with every loan as a CSV; and
the post-loan watch list (贷后), each borrower's twelve months as a sparkline."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.api.security import DB
from yirong.books.service import current_business_date
from yirong.console import charts, i18n
from yirong.console.exports import csv_response, yuan_number
from yirong.console.forms import (
    funder_or_page,
    role_form,
    see_other,
    tr,
)
from yirong.console.i18n import N_
from yirong.console.pages import PAGE, language, refusal_text, refused, render
from yirong.errors import YirongError
from yirong.loans.buckets import NAMES, bucket, days_past_due
from yirong.loans.freeze_requests import asked_for, latest_freeze_requests, request_freeze
from yirong.loans.queries import list_drawdowns
from yirong.loans.standing import past_due_loans
from yirong.loans.vintage import vintages, watch_list
from yirong.roles import Role
from yirong.wallets.history import monthly_flows

router = APIRouter(include_in_schema=False)


PAST_DUE_BUCKETS = NAMES[1:]  # M1 to M3+: a loan past due is never in M0


@router.get("/funder/loans")
def past_due_page(request: Request, db: DB, page: int = 0, bucket: str = "") -> Response:
    who = funder_or_page(request, db)
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
    who = funder_or_page(request, db)
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


@router.get("/funder/portfolio")
def portfolio_page(request: Request, db: DB) -> Response:
    who = funder_or_page(request, db)
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
    who = funder_or_page(request, db)
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
    who = funder_or_page(request, db)
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
