"""A funder's monthly revenue-share statement (分润对账单): a page to print, and the
same lines as a CSV for Excel."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yirong.access.principals import Principal
from yirong.api.security import DB
from yirong.books.service import current_business_date
from yirong.console.exports import csv_response, yuan_number
from yirong.console.forms import (
    funder_or_page,
    tr,
)
from yirong.console.i18n import N_
from yirong.console.pages import refusal_text, refused, render
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.loans.statements import Statement, revenue_share_statement
from yirong.money import PPM

router = APIRouter(include_in_schema=False)


def _statement(request: Request, db: Database) -> tuple[Principal, Statement] | Response:
    """The signed-in funder's statement of the month asked for (by default the
    business date's), or the page that says why not."""
    who = funder_or_page(request, db)
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
