"""Lending the funder's money once the bank shows it (资金流 matched to 信息流).

The reconciliation matches a bank line of a reserve account to a live order of the
line's funder for exactly its amount; then the money lands in the funder's payment
account and moves on to the agent's wallet (less the upfront fee, which the funder
keeps), and interest starts that day. Anything else (late, short, over, a second
payment, an unknown reference) is the reconciliation's exception, never a wallet's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update

from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.errors import YirongError
from yirong.funders.accounts import memo_account
from yirong.funders.tables import Funder
from yirong.infra.db import Tx
from yirong.infra.outbox import tell_many
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
    (all or nothing), and the loans and the funders' events are written in one
    statement each."""
    if not fundings:
        return
    today = business_date_of(tx)
    tx.session.flush()  # the loans are written below in Core: nothing pending may be lost
    d = Drawdown.__table__.c
    found = {
        row.order_ref: row
        for row in tx.conn.execute(
            select(
                d.id,
                d.order_ref,
                d.agent_id,
                d.funder_id,
                d.amount,
                d.fee,
                d.status,
                d.term_days,
                d.grace_days,
            )
            .where(d.order_ref.in_([f.order_ref for f in fundings]))
            .order_by(d.id)
            .with_for_update()
        )
    }
    funders = dict(tx.conn.execute(select(Funder.id, Funder.code)).all())
    agents = dict(
        tx.conn.execute(
            select(Agent.id, Agent.code).where(Agent.id.in_({r.agent_id for r in found.values()}))
        ).all()
    )
    wallets = {aid: wallet_account(tx, f"agent:{code}") for aid, code in agents.items()}
    states = ledger.balances_of(tx, list(wallets.values()))
    requests: list[NewEntry] = []
    changes: list[dict[str, Any]] = []
    told: list[dict[str, Any]] = []
    for f in fundings:
        row = found.get(f.order_ref)
        if row is None:
            raise YirongError("drawdown_not_found", order=f.order_ref)
        if row.status not in LIVE_ORDER:
            raise YirongError("drawdown_not_pending", order=row.order_ref)
        if sum(f.sources.values()) != row.amount:
            raise YirongError("exists_with_different_amount", order=row.order_ref)
        funder = funders[row.funder_id]
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
                    Leg(payment_account.id, Side.CREDIT, row.amount),
                ),
                memo=row.order_ref,
            )
        )
        wallet = wallets[row.agent_id]
        if states[wallet.id].state in (AccountState.BLOCKED, AccountState.CLOSED):
            changes.append({"drawdown": row.id, "status": "funded"})  # waits with the funder
            continue
        requests += _lending(tx, row, funder, payment_account.id, wallet.id)
        due = today + timedelta(days=row.term_days)
        clock = Clock.start(row.amount, today, due + timedelta(days=row.grace_days + 1))
        changes.append(
            {
                "drawdown": row.id,
                "status": "credited",
                "credited_on": today,
                "due_date": due,
                "principal": clock.principal,
                "since_day": clock.since,
                "overdue_day": clock.overdue_from,
                "accrual_open": True,
            }
        )
        told.append(
            {
                "recipient": f"funder:{funder}",
                "topic": "drawdown.credited",
                "subject_id": row.id,
                "today": today,
                "payload": {"order_ref": row.order_ref, "due_date": due},
            }
        )
    ledger.post_batch(tx, requests, atomic=True)
    _write_loans(tx, changes)
    tell_many(tx, told)
    tx.session.expire_all()  # loans read earlier in this transaction are stale now


def _write_loans(tx: Tx, changes: list[dict[str, Any]]) -> None:
    """The loans' new state: funded (money waiting), or credited with their clocks."""
    d = Drawdown.__table__.c
    for columns in ({"status"}, set(_CREDITED)):
        rows = [c for c in changes if set(c) - {"drawdown"} == columns]
        if rows:
            tx.conn.execute(
                update(Drawdown)
                .where(d.id == bindparam("drawdown"))
                .values({name: bindparam(name) for name in sorted(columns)}),
                rows,
            )


_CREDITED = (
    "status",
    "credited_on",
    "due_date",
    "principal",
    "since_day",
    "overdue_day",
    "accrual_open",
)


def _lending(tx: Tx, d: Any, funder: str, payment_account: int, wallet: int) -> list[NewEntry]:
    """The money is the agent's (less the fee), and the funder's memo book owns the
    loan's principal. ``d``: the loan's row (order_ref, amount, fee)."""
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
