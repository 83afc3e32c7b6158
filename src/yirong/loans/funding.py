"""Lending the funder's money once the bank shows it (资金流 matched to 信息流).

The reconciliation matches a bank line of a reserve account to a live order of the
line's funder for exactly its amount; then the money lands in the funder's payment
account and moves on to the agent's wallet (less the upfront fee, which the funder
keeps), and interest starts that day. Anything else (late, short, over, a second
payment, an unknown reference) is the reconciliation's exception, never a wallet's."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from sqlalchemy import select

from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.errors import YirongError
from yirong.funders.accounts import memo_account
from yirong.infra.db import Tx
from yirong.infra.outbox import tell
from yirong.ledger import service as ledger
from yirong.ledger.model import AccountState, Leg, NewEntry, Side
from yirong.loans.drawdowns import LIVE_ORDER
from yirong.loans.interest import Clock
from yirong.loans.tables import Drawdown
from yirong.wallets.service import wallet_account


def order_by_reference(tx: Tx, reference: str, *, lock: bool = True) -> Drawdown | None:
    """The drawdown whose order quotes ``reference`` (locked: its money is being
    matched), or None."""
    query = select(Drawdown).where(Drawdown.order_ref == reference)
    return tx.session.scalars(query.with_for_update() if lock else query).one_or_none()


def fund_order_in(
    tx: Tx, drawdown: Drawdown, funder_code: str, *, key: str, sources: Mapping[str, int]
) -> None:
    """The bank's statements show the funder's money for this live order, in full
    (``sources``: the ledger account of each reserve account it reached, and how much):
    it lands in the funder's payment account and moves on to the agent's wallet (less
    the upfront fee, which the funder keeps), and interest starts today. Only the
    reconciliation's matcher calls this, for bank lines it matched; a funder's own
    notice never does."""
    if drawdown.status not in LIVE_ORDER:
        raise YirongError("drawdown_not_pending", order=drawdown.order_ref)
    if sum(sources.values()) != drawdown.amount:
        raise YirongError("exists_with_different_amount", order=drawdown.order_ref)
    debits = tuple(
        Leg(ledger.account_by_code(tx, code).id, Side.DEBIT, amount)
        for code, amount in sorted(sources.items())
    )
    ledger.post(
        tx,
        NewEntry(
            key,
            "loan.funding",
            (
                *debits,
                Leg(
                    wallet_account(tx, f"funder:{funder_code}").id,
                    Side.CREDIT,
                    drawdown.amount,
                ),
            ),
            memo=drawdown.order_ref,
        ),
    )
    _lend(tx, drawdown, funder_code, business_date_of(tx))


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
