"""Lending the funder's money once the bank shows it (资金流 matched to 信息流).

The reconciliation matches a bank line of a reserve account to a live order of the
line's funder for exactly its amount; then the money lands in the funder's payment
account and moves on to the agent's wallet (less the upfront fee, which the funder
keeps), and interest starts that day. Anything else (late, short, over, a second
payment, an unknown reference) is the reconciliation's exception, never a wallet's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.errors import YirongError
from yirong.funders.accounts import memo_account
from yirong.funders.tables import Funder
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


@dataclass(frozen=True, slots=True)
class Funding:
    """The bank's money for one live order: where it arrived (each reserve account's
    ledger code, and how much), and the key its posting is made once under."""

    order_ref: str
    key: str
    sources: Mapping[str, int]


def fund_order_in(
    tx: Tx, drawdown: Drawdown, funder_code: str, *, key: str, sources: Mapping[str, int]
) -> None:
    """:func:`fund_orders_in` for one order."""
    del funder_code  # the order names its funder
    fund_orders_in(tx, [Funding(drawdown.order_ref, key, sources)])


def fund_orders_in(tx: Tx, fundings: Sequence[Funding]) -> None:
    """The bank's statements show the funders' money for these live orders, each in
    full: it lands in each funder's payment account and moves on to the agent's wallet
    (less the upfront fee, which the funder keeps), and interest starts today. Only
    the reconciliation's matcher calls this, for bank lines it matched; a funder's own
    notice never does.

    Set-based, for a chunk of a statement: the orders, their agents and their wallets'
    states are read in a few queries, every posting goes to the ledger in one batch
    (all or nothing), and the loans and the funders' events are written together."""
    if not fundings:
        return
    today = business_date_of(tx)
    refs = [f.order_ref for f in fundings]
    found = {
        d.order_ref: d
        for d in tx.session.scalars(
            select(Drawdown)
            .where(Drawdown.order_ref.in_(refs))
            .order_by(Drawdown.id)
            .with_for_update()
        )
    }
    funders = dict(tx.conn.execute(select(Funder.id, Funder.code)).all())
    agents = dict(
        tx.conn.execute(
            select(Agent.id, Agent.code).where(Agent.id.in_({d.agent_id for d in found.values()}))
        ).all()
    )
    handles = {ref: f"agent:{agents[d.agent_id]}" for ref, d in found.items()}
    wallets = {h: wallet_account(tx, h) for h in sorted(set(handles.values()))}
    states = ledger.balances_of(tx, list(wallets.values()))
    requests: list[NewEntry] = []
    lent: list[tuple[Drawdown, str]] = []
    for f in fundings:
        d = found.get(f.order_ref)
        if d is None:
            raise YirongError("drawdown_not_found", order=f.order_ref)
        if d.status not in LIVE_ORDER:
            raise YirongError("drawdown_not_pending", order=d.order_ref)
        if sum(f.sources.values()) != d.amount:
            raise YirongError("exists_with_different_amount", order=d.order_ref)
        funder = funders[d.funder_id]
        payment_account = wallet_account(tx, f"funder:{funder}")
        requests.append(
            NewEntry(
                f.key,
                "loan.funding",
                (
                    *(
                        Leg(ledger.account_by_code(tx, code).id, Side.DEBIT, amount)
                        for code, amount in sorted(f.sources.items())
                    ),
                    Leg(payment_account.id, Side.CREDIT, d.amount),
                ),
                memo=d.order_ref,
            )
        )
        wallet = wallets[handles[d.order_ref]]
        if states[wallet.id].state in (AccountState.BLOCKED, AccountState.CLOSED):
            d.status = "funded"  # the money waits in the funder's account
            continue
        requests += _lending(tx, d, funder, payment_account.id, wallet.id)
        lent.append((d, funder))
    ledger.post_batch(tx, requests, atomic=True)
    for d, funder in lent:
        _credited(tx, d, funder, today)


def _lending(tx: Tx, d: Drawdown, funder: str, payment_account: int, wallet: int) -> list[NewEntry]:
    """The money is the agent's (less the fee), and the funder's memo book owns the
    loan's principal."""
    return [
        NewEntry(
            f"lend:{d.order_ref}",
            "loan.drawdown",
            (
                Leg(payment_account, Side.DEBIT, d.amount - d.fee),
                Leg(wallet, Side.CREDIT, d.amount - d.fee),
            ),
            memo=d.order_ref,
        ),
        NewEntry(
            f"lend:{d.order_ref}:memo",
            "loan.principal",
            (
                Leg(
                    ledger.account_by_code(tx, memo_account(funder, "principal")).id,
                    Side.DEBIT,
                    d.amount,
                ),
                Leg(
                    ledger.account_by_code(tx, memo_account(funder, "lent")).id,
                    Side.CREDIT,
                    d.amount,
                ),
            ),
            memo=d.order_ref,
        ),
    ]


def _credited(tx: Tx, d: Drawdown, funder: str, today: date) -> None:
    """The loan's interest clock starts today; its funder is told."""
    due = today + timedelta(days=d.term_days)
    clock = Clock.start(d.amount, today, due + timedelta(days=d.grace_days + 1))
    d.status, d.credited_on, d.due_date = "credited", today, due
    d.principal, d.since_day, d.overdue_day = clock.principal, clock.since, clock.overdue_from
    d.accrual_open = True
    tell(
        tx,
        f"funder:{funder}",
        "drawdown.credited",
        d.id,
        today,
        order_ref=d.order_ref,
        due_date=due,
    )
