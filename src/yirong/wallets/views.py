"""Routes: a wallet's balance and statement, withdrawals (the owner asks; the bank's
statement settles them; operators record a refusal), pre-paying the carrier, freezes
(operators) and commission files (operators). Top-ups arrive as bank lines (their
notices are the reconciliation's routes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from yirong.access.principals import Principal
from yirong.api.fields import Fen
from yirong.api.idempotency import ServiceKey
from yirong.api.pages import Cursor, Limit, Page, after_of, cursor_of
from yirong.api.routing import api_router
from yirong.api.security import DB, AgentOrOperator, Anyone, Operator, hidden
from yirong.api.uploads import CSV_TYPES, UploadedFile, upload_route
from yirong.ledger.statement import StatementLine, statement_lines
from yirong.payments.service import PaymentView
from yirong.roles import Role
from yirong.wallets import service
from yirong.wallets.commissions import CommissionImport, import_commissions
from yirong.wallets.service import FreezeReason, Movement, WalletView

router = api_router("wallets")


class Amount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Fen


class Failure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200)


class FreezeChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: FreezeReason
    note: str = Field(min_length=1, max_length=200)


def own_wallet(who: Principal, handle: str) -> str:
    """The wallet's handle, if the caller may use it: an agent its own, a funder its
    payment account, operators any."""
    owner_type, code = service.parse_handle(handle)
    if who.role is Role.OPERATOR or (who.role.value == owner_type and who.subject == code):
        return f"{owner_type}:{code}"
    raise hidden("wallet_not_found", wallet=handle)


@router.get("/wallets/{handle}", response_model=WalletView, summary="Balance, holds, freezes")
def get_wallet(handle: str, who: Anyone, db: DB) -> WalletView:
    return service.wallet(db, own_wallet(who, handle))


@router.get(
    "/wallets/{handle}/statement",
    response_model=Page[StatementLine],
    summary="Movements, newest page first, each with the balance after it",
)
def wallet_statement(
    handle: str, who: Anyone, db: DB, limit: Limit = 50, cursor: Cursor = None
) -> Page[StatementLine]:
    found = statement_lines(
        db,
        service.account_code(own_wallet(who, handle)),
        limit=limit + 1,
        before=after_of(cursor) or None,
    )  # oldest first; one more than asked says whether an older page exists
    more = len(found) > limit
    items = found[1:] if more else found
    return Page[StatementLine](
        items=items, next_cursor=cursor_of(items[0].entry_id) if more else None
    )


@router.post(
    "/wallets/{handle}/withdrawals",
    response_model=Movement,
    status_code=201,
    summary="Withdraw to the bank card: held until the bank's statement shows it paid "
    "(entry_id is its id)",
)
def withdraw(handle: str, data: Amount, who: Anyone, key: ServiceKey, db: DB) -> Movement:
    return service.request_withdrawal(db, own_wallet(who, handle), data.amount, key)


@router.post(
    "/withdrawals/{withdrawal_id}/fail",
    response_model=PaymentView,
    summary="The bank refused the payout before paying it (its answer to our payment "
    "file): the hold is released, the money stays in the wallet",
)
def fail_withdrawal(
    withdrawal_id: int, data: Failure, _who: Operator, _key: ServiceKey, db: DB
) -> PaymentView:
    return service.fail_withdrawal(db, withdrawal_id, reason=data.reason)


@router.post(
    "/wallets/{handle}/carrier-prepayments",
    response_model=Movement,
    status_code=201,
    summary="Pre-pay the carrier (预存款) for goods to resell",
)
def pay_carrier(
    handle: str, data: Amount, who: AgentOrOperator, key: ServiceKey, db: DB
) -> Movement:
    return service.pay_carrier(db, own_wallet(who, handle), data.amount, key)


@router.post("/wallets/{handle}/freezes", response_model=WalletView, summary="Freeze a wallet")
def freeze(handle: str, data: FreezeChange, who: Operator, db: DB) -> WalletView:
    return service.freeze(db, handle, data.reason, note=data.note, actor=who.handle)


@router.post(
    "/wallets/{handle}/unfreeze", response_model=WalletView, summary="Lift one reason's freeze"
)
def unfreeze(handle: str, data: FreezeChange, who: Operator, db: DB) -> WalletView:
    return service.lift_freeze(db, handle, data.reason, note=data.note, actor=who.handle)


@upload_route(
    router,
    "/commissions/files",
    form="CommissionFileUpload",
    what="The commission file (CSV: agent,month,amount)",
    media_types=CSV_TYPES,
    response_model=CommissionImport,
    status_code=201,
    summary="Record the carrier's monthly commission file (CSV): credited when the "
    "carrier's payment of its total (quoting its reference YC...) is on a bank statement",
)
async def commission_file(
    content: UploadedFile,
    _who: Operator,
    _key: ServiceKey,
    db: DB,
    filename: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[\w.-]+$")],
) -> CommissionImport:
    return await run_in_threadpool(import_commissions, db, content, filename)
