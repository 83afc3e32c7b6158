"""Routes: drawdowns (the agent asks; the funder may reject; the agent may cancel),
repayments (a preview, the
repayment itself, an operator's reversal), how an agent stands (days past due,
bucket, freezes), a funder's book, statements and past-due loans, and contractual
freeze requests (a funder asks, an operator applies or declines)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from yirong.access.principals import Principal
from yirong.api.fields import Fen
from yirong.api.idempotency import ServiceKey
from yirong.api.pages import Cursor, Limit, Page, after_of, page_of
from yirong.api.routing import api_router
from yirong.api.security import (
    DB,
    AgentOnly,
    AgentOrOperator,
    Anyone,
    FunderOnly,
    FunderOrOperator,
    Operator,
    hidden,
    own_agent,
    own_funder,
    own_party,
    scope_of,
)
from yirong.errors import YirongError
from yirong.loans import freeze_requests, queries
from yirong.loans.drawdowns import (
    DrawdownView,
    cancel_drawdown,
    preview_drawdown,
    reject_drawdown,
    request_drawdown,
)
from yirong.loans.freeze_requests import FreezeRequestView
from yirong.loans.model import DrawdownStatus
from yirong.loans.queries import DrawdownRecord, RepaymentPreview, RepaymentRecord, StandingView
from yirong.loans.repayments import RepaymentView, repay
from yirong.loans.reversals import reverse_repayment
from yirong.loans.standing import LoanStanding, Portfolio, funder_portfolio, past_due_loans
from yirong.loans.statements import RevenueShareLine, revenue_share_statement
from yirong.money import MAX_AMOUNT_FEN
from yirong.roles import Role

router = api_router("loans")

CODE = r"^[A-Za-z0-9_-]{1,64}$"
Code = Annotated[str, Field(pattern=CODE)]
AgentCode = Annotated[str, Path(pattern=CODE, description="The agent's code")]
FunderCode = Annotated[str, Path(pattern=CODE, description="The funder's code")]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
# Free text for the record: no control characters.
Text = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]

FreezeRequestStatus = Literal["requested", "applied", "declined"]
Month = Annotated[str, Path(max_length=16, description="YYYY-MM, such as 2026-01")]


class NewDrawdown(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Fen
    term_days: int = Field(strict=True, gt=0, le=3650, description="Days until it is due")


class DrawdownRejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(description="Why, for the record (its first 64 characters kept)")


class NewRepayment(BaseModel):
    """``{"amount": fen}`` or ``{"all": true}`` (everything owed today)."""

    model_config = ConfigDict(extra="forbid")

    amount: Fen | None = None
    everything: bool = Field(False, alias="all", strict=True)

    @model_validator(mode="after")
    def _one_of(self) -> NewRepayment:
        if (self.amount is None) == (not self.everything):
            raise ValueError('give either "amount" or "all": true')
        return self


class Reversal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(description="Why, kept with the reversal")


class NewFreezeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: Code
    note: Text = Field(description="The default, in a sentence")


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Text | None = None


class Decline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Text = Field(description="Why it is declined")


class RevenueShareStatement(BaseModel):
    """A funder's monthly revenue-share statement (分润对账单): what it collected and
    the platform's share, line by line (reversals as negative lines), with totals."""

    funder_code: str
    month: str
    revenue_share_ppm: int
    interest: int
    penalty: int
    share: int
    lines: list[RevenueShareLine]


# ---------------------------------------------------------------- drawdowns


class PreviewInstalment(BaseModel):
    n: int
    due_date: date
    principal: int
    interest: int
    total: int
    balance: int  # principal still owed after it


class DrawdownPreview(BaseModel):
    """What a drawdown asked for today would cost and when it would fall due."""

    amount: int
    term_days: int
    fee: int  # kept from what reaches the wallet
    received: int
    interest: int
    to_repay: int
    instalments: list[PreviewInstalment]


@router.get(
    "/agents/{code}/drawdowns/preview",
    response_model=DrawdownPreview,
    summary="The schedule a drawdown would keep if its money came today (interest, fee, "
    "each date and amount), refused as the drawdown would be; asks for nothing",
)
def preview_draw(
    code: AgentCode,
    who: AgentOrOperator,
    db: DB,
    amount: Annotated[int, Query(gt=0, le=MAX_AMOUNT_FEN, description="Fen")],
    term_days: Annotated[int, Query(gt=0, le=3660, description="Days")],
) -> DrawdownPreview:
    own_agent(who, code)
    schedule = preview_drawdown(db, code, amount, term_days)
    return DrawdownPreview(
        amount=schedule.principal,
        term_days=term_days,
        fee=schedule.fee,
        received=schedule.principal - schedule.fee,
        interest=schedule.total_interest,
        to_repay=schedule.total_repaid,
        instalments=[
            PreviewInstalment(
                n=i.n,
                due_date=i.due_date,
                principal=i.principal,
                interest=i.interest,
                total=i.total,
                balance=i.balance,
            )
            for i in schedule.installments
        ],
    )


@router.post(
    "/agents/{code}/drawdowns",
    response_model=DrawdownView,
    status_code=201,
    summary="Ask the line's funder for money (the amount is reserved on the line at once)",
)
def draw(
    code: AgentCode, data: NewDrawdown, who: AgentOnly, key: ServiceKey, db: DB
) -> DrawdownView:
    own_agent(who, code)
    return request_drawdown(db, code, data.amount, data.term_days, key)


@router.get(
    "/drawdowns",
    response_model=Page[DrawdownRecord],
    summary="Drawdowns (an agent: its own; a funder: those it was asked for), oldest first",
)
def list_drawdowns(
    who: Anyone,
    db: DB,
    status: Annotated[DrawdownStatus | None, Query(description="Only those in this state")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[DrawdownRecord]:
    agent, funder = scope_of(who)
    found = queries.list_drawdowns(
        db,
        agent_code=agent,
        funder_code=funder,
        status=status,
        after=after_of(cursor),
        limit=limit + 1,
    )
    return page_of(found, limit, lambda d: d.id)


def _own_drawdown(who: Principal, db: DB, drawdown_id: int) -> DrawdownRecord:
    found = queries.find_drawdown(db, drawdown_id)
    own_party(
        who, found.agent_code, found.funder_code, hidden("drawdown_not_found", drawdown=drawdown_id)
    )
    return found


@router.get(
    "/drawdowns/{drawdown_id}",
    response_model=DrawdownRecord,
    summary="One drawdown: the order and the loan it became",
)
def get_drawdown(drawdown_id: Id, who: Anyone, db: DB) -> DrawdownRecord:
    return _own_drawdown(who, db, drawdown_id)


@router.post(
    "/drawdowns/{drawdown_id}/cancel",
    response_model=DrawdownView,
    summary="The agent withdraws an order no money has come for yet",
)
def cancel(drawdown_id: Id, who: AgentOnly, db: DB) -> DrawdownView:
    _own_drawdown(who, db, drawdown_id)  # an agent: only its own
    return cancel_drawdown(db, who.subject, drawdown_id)


@router.post(
    "/drawdowns/{drawdown_id}/reject",
    response_model=DrawdownView,
    summary="The funder declines to fund the order (the line's amount is free again)",
)
def reject(drawdown_id: Id, data: DrawdownRejection, who: FunderOnly, db: DB) -> DrawdownView:
    _own_drawdown(who, db, drawdown_id)  # a funder: only an order made to it
    return reject_drawdown(db, who.subject, drawdown_id, data.reason)


# ---------------------------------------------------------------- repayments


@router.get(
    "/agents/{code}/repayments/preview",
    response_model=RepaymentPreview,
    summary="What a repayment would pay today, loan by loan (penalty, interest, "
    "principal in the product's order); moves nothing",
)
def preview(
    code: AgentCode,
    who: AgentOrOperator,
    db: DB,
    amount: Annotated[
        int | None,
        Query(gt=0, le=MAX_AMOUNT_FEN, description="Fen; omitted: everything owed today"),
    ] = None,
) -> RepaymentPreview:
    own_agent(who, code)
    return queries.preview_repayment(db, code, amount)


@router.post(
    "/agents/{code}/repayments",
    response_model=RepaymentView,
    status_code=201,
    summary="Repay from the wallet: an amount, or everything owed today",
)
def repay_loans(
    code: AgentCode, data: NewRepayment, who: AgentOnly, key: ServiceKey, db: DB
) -> RepaymentView:
    own_agent(who, code)
    # The repayment's ledger keys are repay:<agent>:<key>:share and the like.
    return repay(db, code, data.amount, key)


@router.get(
    "/repayments",
    response_model=Page[RepaymentRecord],
    summary="Repayments (an agent: its own; a funder: those it received), oldest first",
)
def list_repayments(
    who: Anyone, db: DB, limit: Limit = 50, cursor: Cursor = None
) -> Page[RepaymentRecord]:
    agent, funder = scope_of(who)
    found = queries.list_repayments(
        db, agent_code=agent, funder_code=funder, after=after_of(cursor), limit=limit + 1
    )
    return page_of(found, limit, lambda r: r.id)


@router.post(
    "/repayments/{repayment_id}/reverse",
    response_model=RepaymentView,
    summary="Reverse a repayment made in error, with its revenue share: the loans owe "
    "as if it had never been made",
)
def reverse(
    repayment_id: Id, data: Reversal, _who: Operator, _key: ServiceKey, db: DB
) -> RepaymentView:
    return reverse_repayment(db, repayment_id, data.reason)


# ---------------------------------------------------------------- standing


@router.get(
    "/agents/{code}/standing",
    response_model=StandingView,
    summary="How the agent stands today: owed, days past due, bucket, and why its "
    "wallet is frozen (a funder: only an agent it lends to)",
)
def standing(code: AgentCode, who: Anyone, db: DB) -> StandingView:
    if who.role is Role.FUNDER:
        if not queries.lends_to(db, who.subject, code):
            raise hidden("agent_not_found", agent=code)
    else:
        own_agent(who, code)
    return queries.standing_with_freezes(db, code, with_notes=who.role is not Role.FUNDER)


# ---------------------------------------------------------------- a funder's book


@router.get(
    "/funders/{code}/portfolio",
    response_model=Portfolio,
    summary="The funder's book by bucket (M0-M3+) at the end of the last closed day",
)
def portfolio(
    code: FunderCode,
    who: FunderOrOperator,
    db: DB,
    on: Annotated[date | None, Query(description="As of this closed day instead")] = None,
) -> Portfolio:
    own_funder(who, code)
    return funder_portfolio(db, code, on)


@router.get(
    "/funders/{code}/statements/{month}",
    response_model=RevenueShareStatement,
    summary="The funder's revenue-share statement (分润对账单) for a month",
)
def statement(
    code: FunderCode, month: Month, who: FunderOrOperator, db: DB
) -> RevenueShareStatement:
    own_funder(who, code)
    s = revenue_share_statement(db, code, month)
    return RevenueShareStatement(
        funder_code=s.funder_code,
        month=s.month,
        revenue_share_ppm=s.revenue_share_ppm,
        interest=s.interest,
        penalty=s.penalty,
        share=s.share,
        lines=list(s.lines),
    )


_DUE_SCALE = 10**12  # the past-due cursor: the due date's ordinal, then the drawdown id


def _past_due_cursor(loan: LoanStanding) -> int:
    assert loan.due_date is not None
    return loan.due_date.toordinal() * _DUE_SCALE + loan.drawdown_id


@router.get(
    "/funders/{code}/past-due",
    response_model=Page[LoanStanding],
    summary="The funder's loans past their due date, the longest past due first",
)
def past_due(
    code: FunderCode, who: FunderOrOperator, db: DB, limit: Limit = 50, cursor: Cursor = None
) -> Page[LoanStanding]:
    own_funder(who, code)
    after = None
    if cursor:
        ordinal, last = divmod(after_of(cursor), _DUE_SCALE)
        if not 1 <= ordinal <= date.max.toordinal():
            raise YirongError("cursor_invalid")
        after = (date.fromordinal(ordinal), last)
    found = past_due_loans(db, code, limit=limit + 1, after=after)
    return page_of(found, limit, _past_due_cursor)


# ---------------------------------------------------------------- freeze requests


@router.post(
    "/freeze-requests",
    response_model=FreezeRequestView,
    status_code=201,
    summary="Ask for a borrower in default to be frozen by contract (an operator decides)",
)
def request_freeze(data: NewFreezeRequest, who: FunderOnly, db: DB) -> FreezeRequestView:
    return freeze_requests.request_freeze(db, who.subject, data.agent, data.note)


@router.get(
    "/freeze-requests",
    response_model=Page[FreezeRequestView],
    summary="Freeze requests (a funder: its own), oldest first",
)
def list_freeze_requests(
    who: FunderOrOperator,
    db: DB,
    status: Annotated[FreezeRequestStatus | None, Query(description="Only in this state")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[FreezeRequestView]:
    _, funder = scope_of(who)
    found = freeze_requests.freeze_requests(
        db, funder_code=funder, status=status, after=after_of(cursor), limit=limit + 1
    )
    return page_of(found, limit, lambda r: r.id)


@router.post(
    "/freeze-requests/{request_id}/apply",
    response_model=FreezeRequestView,
    summary="Apply the request: the agent's wallet frozen for funder_request (credits "
    "still land; only repayment goes out)",
)
def apply_freeze_request(
    request_id: Id, who: Operator, db: DB, data: Decision | None = None
) -> FreezeRequestView:
    note = data.note if data is not None else None
    return freeze_requests.apply_freeze_request(db, request_id, who.handle, note)


@router.post(
    "/freeze-requests/{request_id}/decline",
    response_model=FreezeRequestView,
    summary="Decline the request, saying why",
)
def decline_freeze_request(
    request_id: Id, data: Decline, who: Operator, db: DB
) -> FreezeRequestView:
    return freeze_requests.decline_freeze_request(db, request_id, who.handle, data.note)
