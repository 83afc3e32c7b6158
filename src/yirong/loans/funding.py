"""Lending the funder's money once the bank shows it (资金流 matched to 信息流).

The reconciliation matches a bank line of a reserve account to a live order of the
line's funder for exactly its amount; then the money lands in the funder's payment
account and moves on to the agent's wallet (less the upfront fee, which the funder
keeps), and interest starts that day. An order's advance (订单融资) does not reach the
wallet: it waits in the order escrow for its payout to the supplier (受托支付), and
its interest starts the day the bank shows the supplier paid (:func:`lend_paid_out_in`).
Anything else (late, short, over, a second
payment, an unknown reference) is the reconciliation's exception, never a wallet's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, insert, select

from yirong.agents.tables import Agent
from yirong.books.service import ORDER_ESCROW, business_date_of
from yirong.errors import YirongError
from yirong.funders.accounts import memo_account
from yirong.funders.service import funder_code_of
from yirong.funders.tables import Funder, FunderProduct
from yirong.funders.terms import ORDER
from yirong.infra.bulk import update_rows
from yirong.infra.db import Tx
from yirong.infra.outbox import tell_many
from yirong.ledger import service as ledger
from yirong.ledger.model import Account, AccountState, Leg, NewEntry, Side
from yirong.loans import model
from yirong.loans.interest import Clock
from yirong.loans.model.term import instalments
from yirong.loans.tables import Drawdown, DrawdownInstalment
from yirong.money import ppm_to_rate
from yirong.pricing.schedule import Method
from yirong.wallets.service import wallet_account, wallet_accounts
from yirong.wallets.tables import Wallet


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
    """:func:`fund_orders_in` for one order, whose money came from ``funder_code``."""
    ordered_from = funder_code_of(tx, drawdown.funder_id)
    if funder_code != ordered_from:
        raise YirongError(
            "funding_differs", order=drawdown.order_ref, field="funder", funder=funder_code
        )
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
    found, funders, wallets, products = _load(tx, fundings)
    requests: list[NewEntry] = []
    changes: list[dict[str, Any]] = []
    schedules: list[dict[str, Any]] = []
    told: list[dict[str, Any]] = []
    received: dict[str, dict[str, int]] = {}  # funder -> reserve account -> fen
    owned: dict[str, int] = {}  # funder -> principal lent
    for f in fundings:
        row = found.get(f.order_ref)
        if row is None:
            raise YirongError("drawdown_not_found", order=f.order_ref)
        # Refused (drawdown_not_pending) unless it is still an order waiting for money.
        credited = model.after(row.status, model.Event.CREDITED, order=row.order_ref)
        if sum(f.sources.values()) != row.amount:
            raise YirongError(
                "funding_differs",
                order=row.order_ref,
                field="amount",
                amount=sum(f.sources.values()),
                ordered=row.amount,
            )
        funder = funders[row.funder_id]
        payment_account = wallet_account(tx, f"funder:{funder}")
        arrived = received.setdefault(funder, {})
        for code, amount in f.sources.items():
            arrived[code] = arrived.get(code, 0) + amount
        periods, kind = products[row.product_id]
        if kind == ORDER:
            # The advance waits in escrow for the supplier's payout: no wallet, no clock.
            escrowed = model.after(row.status, model.Event.ESCROWED, order=row.order_ref)
            requests.append(_escrowed(tx, row, payment_account.id))
            changes.append({"id": row.id, "status": escrowed})
            told.append(_told(funder, row.id, today, "drawdown.escrowed", row.order_ref))
            continue
        wallet = wallets[row.agent_id]
        if AccountState(row.wallet_state) in (AccountState.BLOCKED, AccountState.CLOSED):
            # The money waits with the funder.
            funded = model.after(row.status, model.Event.FUNDED, order=row.order_ref)
            changes.append({"id": row.id, "status": funded})
            continue
        requests.append(_lent(row, payment_account.id, wallet.id))
        owned[funder] = owned.get(funder, 0) + row.amount
        due, schedule = _due_and_schedule(row, today, periods)
        schedules.extend(schedule)
        clock = Clock.start(row.amount, today, due + timedelta(days=row.grace_days + 1))
        changes.append(
            {
                "id": row.id,
                "status": credited,
                "credited_on": today,
                "due_date": due,
                "principal": clock.principal,
                "since_day": clock.since,
                "overdue_day": clock.overdue_from,
                "accrual_open": True,
            }
        )
        told.append(_told(funder, row.id, today, "drawdown.credited", row.order_ref, due))
    # The money arrives in each funder's payment account, and each funder's memo book
    # owns the principal, as one entry per funder for the chunk (the lines and the
    # loans say which orders); the loans go to the wallets one by one.
    key = fundings[0].key
    requests = [
        *(_arrived(tx, f"{key}:funding:{funder}", funder, s) for funder, s in received.items()),
        *requests,
        *(_owned(tx, f"{key}:lent:{funder}", funder, amount) for funder, amount in owned.items()),
    ]
    ledger.post_batch(tx, requests, atomic=True)
    _write_loans(tx, changes)
    if schedules:
        tx.conn.execute(insert(DrawdownInstalment), schedules)
    tell_many(tx, told)
    tx.session.expire_all()  # loans read earlier in this transaction are stale now


def _load(
    tx: Tx, fundings: Sequence[Funding]
) -> tuple[
    dict[str, Any],
    dict[int, str],
    dict[int, Account],
    dict[int, tuple[int | None, str]],
]:
    """What funding a chunk reads, in one query: the orders (locked) by reference, with
    their funders' and agents' codes, their agents' wallets' states and each product's
    periods and kind."""
    rows = tx.conn.execute(_ORDERS, {"refs": sorted({f.order_ref for f in fundings})}).all()
    found = {row.order_ref: row for row in rows}
    funders = {row.funder_id: row.funder_code for row in rows}
    agents = {row.agent_id: row.agent_code for row in rows}
    products = {row.product_id: (row.periods, row.kind) for row in rows}
    by_handle = wallet_accounts(tx, [f"agent:{code}" for code in agents.values()])
    wallets = {aid: by_handle[f"agent:{code}"] for aid, code in agents.items()}
    return found, funders, wallets, products


_drawdown = Drawdown.__table__.c
# The orders a chunk funds, locked (the drawdowns' rows only), with what funding them
# needs of their funder, agent and product (built once: a day's file is on the hot path).
_ORDERS = (
    select(
        _drawdown.id,
        _drawdown.order_ref,
        _drawdown.agent_id,
        _drawdown.funder_id,
        _drawdown.amount,
        _drawdown.fee,
        _drawdown.status,
        _drawdown.term_days,
        _drawdown.grace_days,
        _drawdown.method,
        _drawdown.annual_rate_ppm,
        _drawdown.day_basis,
        _drawdown.product_id,
        Funder.code.label("funder_code"),
        Agent.code.label("agent_code"),
        FunderProduct.periods,
        FunderProduct.kind,
        # A value read for each order, not a join: joined, the wallets could lead the
        # plan (a scan of every agent's) where the order's own index should.
        ledger.account_state(
            select(Wallet.account_id)
            .where(Wallet.owner_type == "agent", Wallet.owner_code == Agent.code)
            .correlate(Agent)  # the order's agent, two levels up
            .scalar_subquery()
        ).label("wallet_state"),
    )
    .join(Funder, Funder.id == _drawdown.funder_id)
    .join(Agent, Agent.id == _drawdown.agent_id)
    .join(FunderProduct, FunderProduct.id == _drawdown.product_id)
    .where(_drawdown.order_ref.in_(bindparam("refs", expanding=True)))
    .order_by(_drawdown.id)
    .with_for_update(of=Drawdown.__table__)
)


def _told(
    funder: str, drawdown_id: int, today: date, topic: str, order_ref: str, due: date | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {"order_ref": order_ref}
    if due is not None:
        payload["due_date"] = due
    return {
        "recipient": f"funder:{funder}",
        "topic": topic,
        "subject_id": drawdown_id,
        "today": today,
        "payload": payload,
    }


def lend_paid_out_in(tx: Tx, drawdown_id: int) -> Drawdown:
    """The bank shows an order's advance paid to the supplier: the loan runs from today,
    for its term, and the funder's memo book owns its principal. Called when the
    payout's debit line is matched; never on anyone's word."""
    today = business_date_of(tx)
    d = tx.session.get(Drawdown, drawdown_id, with_for_update=True)
    if d is None:
        raise YirongError("drawdown_not_found", drawdown=drawdown_id)
    d.status = model.after(d.status, model.Event.PAID_OUT, drawdown=d.id)
    due = today + timedelta(days=d.term_days)
    clock = Clock.start(d.amount, today, due + timedelta(days=d.grace_days + 1))
    d.credited_on, d.due_date, d.principal = today, due, clock.principal
    d.since_day, d.overdue_day, d.accrual_open = clock.since, clock.overdue_from, True
    funder = funder_code_of(tx, d.funder_id)
    assert funder is not None
    ledger.post(tx, _owned(tx, f"lent:{d.order_ref}", funder, d.amount))
    tell_many(tx, [_told(funder, d.id, today, "drawdown.credited", d.order_ref, due)])
    return d


def _due_and_schedule(
    row: Any, today: date, periods: int | None
) -> tuple[date, list[dict[str, Any]]]:
    """A bullet loan falls due ``term_days`` from today; a term loan's instalments are
    its schedule from today, the one it was shown (``row``: the loan's row), and it
    is measured by its oldest unpaid instalment: the first, to begin with."""
    if row.method == Method.BULLET:
        return today + timedelta(days=row.term_days), []
    rows = instalments(
        row.amount,
        ppm_to_rate(row.annual_rate_ppm),
        Method(row.method),
        today,
        periods or 1,
        row.day_basis,
    )
    schedule = [
        {
            "drawdown_id": row.id,
            "n": k.n,
            "due_date": k.due,
            "principal": k.principal,
            "interest": k.interest,
        }
        for k in rows
    ]
    return rows[0].due, schedule


def _write_loans(tx: Tx, changes: list[dict[str, Any]]) -> None:
    """The loans' new state: funded (money waiting), or credited with their clocks."""
    table = Drawdown.__table__
    assert isinstance(table, Table)
    for columns in ({"status"}, set(_CREDITED)):
        update_rows(tx, table, "id", [c for c in changes if set(c) - {"id"} == columns])


_CREDITED = (
    "status",
    "credited_on",
    "due_date",
    "principal",
    "since_day",
    "overdue_day",
    "accrual_open",
)


def _arrived(tx: Tx, key: str, funder: str, sources: Mapping[str, int]) -> NewEntry:
    """The funder's money, from the reserve accounts it reached, in its payment account."""
    return NewEntry(
        key,
        "loan.funding",
        (
            *(
                Leg(ledger.account_by_code(tx, code).id, Side.DEBIT, amount)
                for code, amount in sorted(sources.items())
            ),
            Leg(wallet_account(tx, f"funder:{funder}").id, Side.CREDIT, sum(sources.values())),
        ),
    )


def _lent(d: Any, payment_account: int, wallet: int) -> NewEntry:
    """The money is the agent's, less the fee (``d``: the loan's row)."""
    return NewEntry(
        f"lend:{d.order_ref}",
        "loan.drawdown",
        (
            Leg(payment_account, Side.DEBIT, d.amount - d.fee),
            Leg(wallet, Side.CREDIT, d.amount - d.fee),
        ),
        memo=d.order_ref,
    )


def _escrowed(tx: Tx, d: Any, payment_account: int) -> NewEntry:
    """An order's advance goes from the funder's account to the order escrow."""
    return NewEntry(
        f"lend:{d.order_ref}",
        "order.escrow",
        (
            Leg(payment_account, Side.DEBIT, d.amount),
            Leg(ledger.account_by_code(tx, ORDER_ESCROW).id, Side.CREDIT, d.amount),
        ),
        memo=d.order_ref,
    )


def _owned(tx: Tx, key: str, funder: str, amount: int) -> NewEntry:
    """The funder's memo book owns the principal it lent."""
    return NewEntry(
        key,
        "loan.principal",
        (
            Leg(
                ledger.account_by_code(tx, memo_account(funder, "principal")).id, Side.DEBIT, amount
            ),
            Leg(ledger.account_by_code(tx, memo_account(funder, "lent")).id, Side.CREDIT, amount),
        ),
    )
