"""Routes: the platform's bank accounts; statement files in (operators), each shown
again as received; bank lines; notices (a funder's "we paid", an operator's "the
agent topped up", "the bank paid"): they move nothing; the exception queue and its
actions, with a second operator's approval above the threshold; the matching rules."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Path, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from yirong.api.fields import Fen
from yirong.api.idempotency import ServiceKey
from yirong.api.pages import Cursor, Limit, Page, after_of, page_of
from yirong.api.routing import api_router
from yirong.api.security import DB, FunderOrOperator, Operator, deny
from yirong.api.uploads import STATEMENT_TYPES, UploadedFile, upload_route
from yirong.books import service as books
from yirong.books.service import BankAccountView, bank_accounts
from yirong.errors import YirongError
from yirong.payments import service as payments
from yirong.payments.service import PaymentView
from yirong.reconciliation import exceptions, notices, rules, statements
from yirong.reconciliation.exceptions import ActionResult, ApprovalView, ExceptionView
from yirong.reconciliation.model import ExceptionKind
from yirong.reconciliation.notices import NoticeView
from yirong.reconciliation.statements import ImportResult, StatementFileView
from yirong.roles import Role

router = api_router("reconciliation")

Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Reference = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._:/-]+$")]
Text = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
Format = Literal["auto", "camt053", "mt940", "cmb", "icbc", "csv"]


class FundingNotice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_ref: Reference = Field(description="The order (YR...) the funder paid")
    amount: Fen
    bank_ref: Reference = Field(description="The funder's own reference for the transfer")
    value_date: date | None = Field(None, description="When the funder sent it (default today)")
    funder_code: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,32}$", description="Operators say whose money it is"
    )


class TopUpNotice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Fen
    bank_ref: Reference | None = Field(None, description="The transfer's reference, if known")
    value_date: date | None = None


class RuleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    auto: bool | None = None
    amount_tolerance_fen: int | None = Field(None, ge=0, le=10**9)
    days_before: int | None = Field(None, ge=0, le=366)
    days_after: int | None = Field(None, ge=0, le=366)


class MatchChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str | None = Field(
        None,
        max_length=120,
        pattern=r"^(order|wallet|commission|payment):[A-Za-z0-9_:-]{1,100}$",
        description="order:<ref>, wallet:<handle>, commission:<ref> or payment:<ref>; "
        "omitted: the rule's proposal",
    )


class Owner(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: Text


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text


class RuleView(BaseModel):
    name: str
    enabled: bool
    auto: bool
    amount_tolerance_fen: int
    days_before: int
    days_after: int


class ExceptionDetail(BaseModel):
    exception: ExceptionView
    actions: list[dict[str, Any]]


# ---------------------------------------------------------------- bank accounts, statements


class NewBankAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(pattern=r"^[0-9A-Z -]{6,40}$", description="As the bank prints it")
    bank_name: Text
    name: Text = Field(description="The account's name at the bank (户名)")


@router.post(
    "/bank-accounts",
    response_model=BankAccountView,
    status_code=201,
    summary="Record a bank account the platform holds (the first is the reserve account)",
)
def add_bank_account(data: NewBankAccount, _who: Operator, db: DB) -> BankAccountView:
    return books.add_bank_account(db, data.number, data.bank_name, data.name)


@router.get(
    "/bank-accounts",
    response_model=list[BankAccountView],
    summary="The bank accounts the platform holds (their statements are the only money in)",
)
def list_bank_accounts(_who: Operator, db: DB) -> list[BankAccountView]:
    return bank_accounts(db)


@upload_route(
    router,
    "/bank-statements",
    form="BankStatementUpload",
    what="The bank's statement file, as the bank made it",
    media_types=STATEMENT_TYPES,
    response_model=ImportResult,
    status_code=201,
    summary="Import a bank statement file (camt.053, MT940, 招商银行, 工商银行 or Yirong's "
    "CSV): the whole file or nothing, each line once; matched lines move money",
)
async def import_statement(
    content: UploadedFile,
    who: Operator,
    _key: ServiceKey,
    db: DB,
    filename: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[\w.-]+$")],
    format: Annotated[Format, Query(description="The layout; auto: recognised")] = "auto",
) -> ImportResult:
    return await run_in_threadpool(
        lambda: statements.import_statement_file(
            db, content, filename=filename, fmt=format, actor=who.handle
        )
    )


@router.get(
    "/bank-statements",
    response_model=Page[StatementFileView],
    summary="Statement files received, oldest first, each with what its import did",
)
def list_statements(
    _who: Operator, db: DB, limit: Limit = 50, cursor: Cursor = None
) -> Page[StatementFileView]:
    found = statements.statement_files(db, after=after_of(cursor), limit=limit + 1)
    return page_of(found, limit, lambda f: f.id)


@router.get(
    "/bank-statements/{file_id}/raw",
    summary="The file exactly as received (its SHA-256 is in the listing)",
    response_class=Response,
)
def raw_statement(file_id: Id, _who: Operator, db: DB) -> Response:
    found, content = statements.statement_file(db, file_id)
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )


@router.get(
    "/payments",
    response_model=Page[PaymentView],
    summary="Outbound payments (withdrawals, funders' payouts, returns), oldest first: "
    "instructed until the bank's statement shows them leave",
)
def list_payments(
    _who: Operator,
    db: DB,
    status: Literal["instructed", "settled", "returned", "failed"] | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[PaymentView]:
    found = payments.payments(db, status=status, after=after_of(cursor), limit=limit + 1)
    return page_of(found, limit, lambda p: p.id)


# ---------------------------------------------------------------- notices


@router.post(
    "/fundings",
    response_model=NoticeView,
    status_code=201,
    summary="The funder says it paid an order: a notice. It moves nothing; the agent's "
    "wallet is credited when the bank's statement shows the money",
)
def funding_notice(
    data: FundingNotice, who: FunderOrOperator, key: ServiceKey, db: DB
) -> NoticeView:
    if who.role is Role.FUNDER:
        if data.funder_code not in (None, who.subject):
            raise deny()
        funder = who.subject
    elif data.funder_code is None:
        raise YirongError(
            "request_invalid",
            "Operators say whose money it is: funder_code.",
            errors=[{"loc": ["body", "funder_code"], "message": "Field required"}],
        )
    else:
        funder = data.funder_code
    return notices.record_notice(
        db,
        kind="funding",
        recorded_by=who.handle,
        key=key,
        target=data.order_ref,
        amount=data.amount,
        their_ref=data.bank_ref,
        value_date=data.value_date,
        funder=funder,
    )


@router.post(
    "/wallets/{handle}/top-ups",
    response_model=NoticeView,
    status_code=201,
    summary="Someone says money was sent to this wallet: a notice. It moves nothing; the "
    "wallet is credited when a bank line quotes its pay-in code (YT...) or virtual account",
)
def top_up_notice(
    handle: Annotated[str, Path(pattern=r"^((agent|funder):)?[A-Za-z0-9_-]{1,64}$")],
    data: TopUpNotice,
    who: Operator,
    key: ServiceKey,
    db: DB,
) -> NoticeView:
    return notices.record_notice(
        db,
        kind="top_up",
        recorded_by=who.handle,
        key=key,
        target=handle,
        amount=data.amount,
        their_ref=data.bank_ref or "",
        value_date=data.value_date,
    )


@router.post(
    "/withdrawals/{withdrawal_id}/confirm",
    response_model=NoticeView,
    summary="Someone says the bank paid this withdrawal: a notice. It settles when the "
    "bank's statement shows the debit",
)
def payment_notice(withdrawal_id: Id, who: Operator, key: ServiceKey, db: DB) -> NoticeView:
    return notices.record_notice(
        db, kind="payment", recorded_by=who.handle, key=key, target=str(withdrawal_id)
    )


@router.get(
    "/notices",
    response_model=Page[NoticeView],
    summary="Notices, oldest first: a funder sees its own and whether the bank confirmed them",
)
def list_notices(
    who: FunderOrOperator,
    db: DB,
    status: Literal["open", "proposed", "matched", "unfunded", "dismissed"] | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[NoticeView]:
    party = f"funder:{who.subject}" if who.role is Role.FUNDER else None
    found = notices.notices(db, party=party, status=status, after=after_of(cursor), limit=limit + 1)
    return page_of(found, limit, lambda n: n.id)


# ---------------------------------------------------------------- exceptions


@router.get(
    "/recon/exceptions",
    response_model=Page[ExceptionView],
    summary="The exception queue, oldest first: type, age, owner, the line or notice",
)
def list_exceptions(
    _who: Operator,
    db: DB,
    status: Literal["open", "resolved"] | None = "open",
    kind: ExceptionKind | None = None,
    owner: str | None = Query(None, max_length=80),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ExceptionView]:
    found = exceptions.list_exceptions(
        db,
        status=status,
        kind=kind.value if kind else None,
        owner=owner,
        after=after_of(cursor),
        limit=limit + 1,
    )
    return page_of(found, limit, lambda e: e.id)


@router.get(
    "/recon/exceptions/{exception_id}",
    response_model=ExceptionDetail,
    summary="One exception and every action taken on it",
)
def get_exception(exception_id: Id, _who: Operator, db: DB) -> ExceptionDetail:
    found, actions = exceptions.exception_detail(db, exception_id)
    return ExceptionDetail(exception=found, actions=actions)


@router.post(
    "/recon/exceptions/{exception_id}/match",
    response_model=ActionResult,
    summary="Match a line by hand (at or above the threshold: waits for a second operator)",
)
def match(
    exception_id: Id, data: MatchChoice, who: Operator, _key: ServiceKey, db: DB
) -> ActionResult:
    return exceptions.match_by_hand(db, exception_id, data.target, actor=who.handle)


@router.post(
    "/recon/exceptions/{exception_id}/return",
    response_model=ActionResult,
    summary="Send a line's money back to its sender (a payment the statement settles)",
)
def return_money(exception_id: Id, who: Operator, _key: ServiceKey, db: DB) -> ActionResult:
    return exceptions.return_to_sender(db, exception_id, actor=who.handle)


@router.post(
    "/recon/exceptions/{exception_id}/suspense",
    response_model=ActionResult,
    summary="Book the line's money to suspense",
)
def to_suspense(exception_id: Id, who: Operator, _key: ServiceKey, db: DB) -> ActionResult:
    return exceptions.book_to_suspense(db, exception_id, actor=who.handle)


@router.post(
    "/recon/exceptions/{exception_id}/release",
    response_model=ActionResult,
    summary="Release the line's money from suspense (the booking reversed)",
)
def from_suspense(exception_id: Id, who: Operator, _key: ServiceKey, db: DB) -> ActionResult:
    return exceptions.release_from_suspense(db, exception_id, actor=who.handle)


@router.post(
    "/recon/exceptions/{exception_id}/dismiss",
    response_model=ActionResult,
    summary="Close a notice without money, or a payment alert, with a reason",
)
def dismiss(exception_id: Id, data: Reason, who: Operator, db: DB) -> ActionResult:
    return exceptions.dismiss(db, exception_id, data.reason, actor=who.handle)


@router.post(
    "/recon/exceptions/{exception_id}/assign",
    response_model=ActionResult,
    summary="Give the exception an owner",
)
def assign(exception_id: Id, data: Owner, who: Operator, db: DB) -> ActionResult:
    return exceptions.assign(db, exception_id, data.owner, actor=who.handle)


@router.get(
    "/recon/approvals",
    response_model=list[ApprovalView],
    summary="Hand matches and returns waiting for a second operator",
)
def list_approvals(
    _who: Operator,
    db: DB,
    status: Literal["pending", "approved", "refused"] | None = "pending",
) -> list[ApprovalView]:
    return exceptions.approvals(db, status=status)


@router.post(
    "/recon/approvals/{approval_id}/approve",
    response_model=ActionResult,
    summary="Approve (another operator than the one who asked): it is carried out",
)
def approve(approval_id: Id, who: Operator, _key: ServiceKey, db: DB) -> ActionResult:
    return exceptions.approve(db, approval_id, actor=who.handle)


@router.post(
    "/recon/approvals/{approval_id}/refuse",
    response_model=ApprovalView,
    summary="Refuse: nothing moves, the exception stays open",
)
def refuse(approval_id: Id, data: Reason, who: Operator, db: DB) -> ApprovalView:
    return exceptions.refuse(db, approval_id, data.reason, actor=who.handle)


# ---------------------------------------------------------------- rules


def _rule_view(rule: Any) -> RuleView:
    return RuleView(
        name=rule.name,
        enabled=rule.enabled,
        auto=rule.auto,
        amount_tolerance_fen=rule.amount_tolerance,
        days_before=rule.days_before,
        days_after=rule.days_after,
    )


@router.get("/recon/rules", response_model=list[RuleView], summary="The matching rules")
def list_rules(_who: Operator, db: DB) -> list[RuleView]:
    return [_rule_view(r) for r in rules.match_rules(db)]


@router.put(
    "/recon/rules/{name}",
    response_model=RuleView,
    summary="Change a matching rule (on or off, post or propose, tolerances)",
)
def change_rule(
    name: Annotated[str, Path(pattern=r"^[a-z_]{1,40}$")], data: RuleChange, _who: Operator, db: DB
) -> RuleView:
    return _rule_view(
        rules.set_rule(
            db,
            name,
            enabled=data.enabled,
            auto=data.auto,
            amount_tolerance=data.amount_tolerance_fen,
            days_before=data.days_before,
            days_after=data.days_after,
        )
    )
