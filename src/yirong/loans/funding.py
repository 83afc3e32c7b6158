"""Matching the funder's money to the order (资金流 to 信息流).

The bank reports money in the reserve account quoting a reference. Matched to a live
order of that funder for exactly its amount, it lands in the funder's payment account
and moves on to the agent's wallet (less the upfront fee, which the funder keeps),
and interest starts that day. Anything else (late, short, over, a second payment,
an unknown reference) is held in suspense and listed; it never reaches a wallet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from yirong.agents.tables import Agent
from yirong.books.service import RESERVE, SUSPENSE, business_date_of
from yirong.errors import YirongError
from yirong.funders.accounts import memo_account
from yirong.funders.tables import Funder
from yirong.infra.db import Tx, read_only, transactional
from yirong.infra.outbox import tell
from yirong.ledger import service as ledger
from yirong.ledger.model import AccountState, Leg, NewEntry, Side
from yirong.loans.drawdowns import LIVE_ORDER
from yirong.loans.interest import Clock
from yirong.loans.tables import Drawdown, FundingReceipt
from yirong.money import check_amount
from yirong.wallets.service import wallet_account

EXCEPTIONS = ("late", "short", "over", "duplicate", "unknown")


@dataclass(frozen=True, slots=True)
class ReceiptView:
    id: int
    bank_ref: str
    funder_code: str
    reference: str
    amount: int
    received_on: date
    outcome: str  # matched | late | short | over | duplicate | unknown
    drawdown_id: int | None
    resolution: str | None


def _view(r: FundingReceipt) -> ReceiptView:
    return ReceiptView(
        r.id,
        r.bank_ref,
        r.funder_code,
        r.reference,
        r.amount,
        r.received_on,
        r.outcome,
        r.drawdown_id,
        r.resolution,
    )


@transactional
def receive_funding(
    tx: Tx, bank_ref: str, funder_code: str, reference: str, amount: int
) -> ReceiptView:
    """Book a funder's payment as the bank reported it (once per statement line)."""
    amount = check_amount(amount)
    earlier = tx.session.scalars(
        select(FundingReceipt).where(FundingReceipt.bank_ref == bank_ref)
    ).one_or_none()
    if earlier is not None:
        if (earlier.amount, earlier.funder_code, earlier.reference) != (
            amount,
            funder_code,
            reference,
        ):
            raise YirongError("exists_with_different_amount", bank_ref=bank_ref)
        return _view(earlier)
    today = business_date_of(tx)
    drawdown = tx.session.scalars(
        select(Drawdown).where(Drawdown.order_ref == reference).with_for_update()
    ).one_or_none()
    funder = tx.session.scalars(select(Funder).where(Funder.code == funder_code)).one_or_none()
    outcome = _outcome(drawdown, funder, amount, today)
    reserve = ledger.account_by_code(tx, RESERVE)
    key = f"funding:{bank_ref}"
    if outcome != "matched":
        entry = ledger.post(
            tx,
            NewEntry(
                key,
                "loan.funding_suspense",
                (
                    Leg(reserve.id, Side.DEBIT, amount),
                    Leg(ledger.account_by_code(tx, SUSPENSE).id, Side.CREDIT, amount),
                ),
                memo=f"{outcome}: {funder_code} quoting {reference}"[:200],
            ),
        )
        receipt = _record(tx, bank_ref, funder_code, reference, amount, today, outcome, entry)
        receipt.drawdown_id = drawdown.id if drawdown is not None else None
        return _view(receipt)
    assert drawdown is not None and funder is not None
    entry = ledger.post(
        tx,
        NewEntry(
            key,
            "loan.funding",
            (
                Leg(reserve.id, Side.DEBIT, amount),
                Leg(wallet_account(tx, f"funder:{funder_code}").id, Side.CREDIT, amount),
            ),
            memo=drawdown.order_ref,
        ),
    )
    receipt = _record(tx, bank_ref, funder_code, reference, amount, today, "matched", entry)
    receipt.drawdown_id = drawdown.id
    _lend(tx, drawdown, funder_code, today)
    return _view(receipt)


def _outcome(drawdown: Drawdown | None, funder: Funder | None, amount: int, today: date) -> str:
    if drawdown is None or funder is None or drawdown.funder_id != funder.id:
        return "unknown"
    if drawdown.status not in LIVE_ORDER:
        return "duplicate" if drawdown.credited_on or drawdown.status == "funded" else "late"
    if drawdown.fund_by < today:
        return "late"  # the end of day will expire it
    if amount != drawdown.amount:
        return "short" if amount < drawdown.amount else "over"
    return "matched"


def _record(
    tx: Tx,
    bank_ref: str,
    funder_code: str,
    reference: str,
    amount: int,
    today: date,
    outcome: str,
    entry: ledger.PostResult,
) -> FundingReceipt:
    assert entry.entry_id is not None
    receipt = FundingReceipt(
        bank_ref=bank_ref,
        funder_code=funder_code,
        reference=reference[:64],
        amount=amount,
        received_on=today,
        outcome=outcome,
        entry_id=entry.entry_id,
    )
    tx.session.add(receipt)
    tx.session.flush()
    return receipt


def _lend(tx: Tx, d: Drawdown, funder_code: str, today: date) -> None:
    """The money is the agent's: its wallet is credited (less the fee) and the loan's
    interest clock starts today. A wallet that cannot take credits (blocked, closed)
    leaves the loan ``funded``, the money waiting in the funder's account."""
    wallet = wallet_account(tx, _agent_handle(tx, d.agent_id))
    if ledger.balance_of(tx, wallet).state in (AccountState.BLOCKED, AccountState.CLOSED):
        d.status = "funded"
        return
    ledger.post_batch(
        tx,
        [
            NewEntry(
                f"lend:{d.order_ref}",
                "loan.drawdown",
                (
                    Leg(
                        wallet_account(tx, f"funder:{funder_code}").id, Side.DEBIT, d.amount - d.fee
                    ),
                    Leg(wallet.id, Side.CREDIT, d.amount - d.fee),
                ),
                memo=d.order_ref,
            ),
            NewEntry(
                f"lend:{d.order_ref}:memo",
                "loan.principal",
                (
                    Leg(
                        ledger.account_by_code(tx, memo_account(funder_code, "principal")).id,
                        Side.DEBIT,
                        d.amount,
                    ),
                    Leg(
                        ledger.account_by_code(tx, memo_account(funder_code, "lent")).id,
                        Side.CREDIT,
                        d.amount,
                    ),
                ),
                memo=d.order_ref,
            ),
        ],
        atomic=True,
    )
    due = today + timedelta(days=d.term_days)
    clock = Clock.start(d.amount, today, due + timedelta(days=d.grace_days + 1))
    d.status, d.credited_on, d.due_date = "credited", today, due
    d.principal, d.since_day, d.overdue_day = clock.principal, clock.since, clock.overdue_from
    d.accrual_open = True
    tell(
        tx,
        f"funder:{funder_code}",
        "drawdown.credited",
        d.id,
        today,
        order_ref=d.order_ref,
        due_date=due,
    )


def _agent_handle(tx: Tx, agent_id: int) -> str:
    code = tx.session.scalar(select(Agent.code).where(Agent.id == agent_id))
    return f"agent:{code}"


@transactional
def return_to_funder(tx: Tx, receipt_id: int) -> ReceiptView:
    """An operator resolves an exception: the money in suspense goes back to the
    funder's payment account (from where a payout sends it to the funder's bank)."""
    receipt = tx.session.get(FundingReceipt, receipt_id, with_for_update=True)
    if receipt is None or receipt.outcome == "matched":
        raise YirongError("exception_not_found", receipt=receipt_id)
    if receipt.resolution is not None:
        return _view(receipt)
    ledger.post(
        tx,
        NewEntry(
            f"funding:{receipt.bank_ref}:return",
            "loan.funding_returned",
            (
                Leg(ledger.account_by_code(tx, SUSPENSE).id, Side.DEBIT, receipt.amount),
                Leg(
                    wallet_account(tx, f"funder:{receipt.funder_code}").id,
                    Side.CREDIT,
                    receipt.amount,
                ),
            ),
        ),
    )
    receipt.resolution, receipt.resolved_on = "returned", business_date_of(tx)
    return _view(receipt)


@read_only
def exceptions(tx: Tx, *, after: int = 0, limit: int | None = None) -> list[ReceiptView]:
    """Money in suspense, not yet resolved, oldest first (ids after ``after``)."""
    rows = tx.session.scalars(
        select(FundingReceipt)
        .where(
            FundingReceipt.outcome != "matched",
            FundingReceipt.resolution.is_(None),
            FundingReceipt.id > after,
        )
        .order_by(FundingReceipt.id)
        .limit(limit)
    )
    return [_view(r) for r in rows]
