"""Drawdowns (放款): the agent asks for an amount and a term within its line; the
order goes to the funder (through the outbox); the funder's money is matched to it in
``loans.funding``. The amount counts against the line from the moment it is asked for
until the order expires, is rejected or cancelled, or the loan is repaid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from sqlalchemy import Select, bindparam, case, func, insert, select, update

from yirong.agents.service import agent_id_of, agent_row
from yirong.books.service import business_date_of
from yirong.credit.applications import family_sql
from yirong.credit.tables import CREDIT_LINE, CreditLine
from yirong.errors import YirongError
from yirong.funders.service import funder_code_of
from yirong.funders.tables import FunderProduct
from yirong.funders.terms import LINE_FAMILY, ORDER_FAMILY, is_bullet
from yirong.infra.db import Tx, read_only, transactional
from yirong.infra.direct import send
from yirong.infra.opaque import conceal
from yirong.infra.outbox import tell
from yirong.loans import model
from yirong.loans.interest import penalty_rate_ppm
from yirong.loans.tables import Drawdown, DrawdownInstalment
from yirong.money import check_amount, ppm_of, ppm_to_rate
from yirong.pricing.schedule import Method, Schedule, build_schedule
from yirong.wallets.service import FreezeReason, agent_freezes

FUNDING_DAYS = 2  # the funder's money must arrive by the end of the second day
# The model's sets as tuples, for SQL's IN.
LIVE_ORDER = tuple(sorted(model.ORDER))
# What holds its whole amount on the line: an order, or an advance waiting in escrow.
ASKED = tuple(sorted(model.ORDER | model.IN_ESCROW))
LENT = tuple(sorted(model.OUTSTANDING))
OPEN = tuple(sorted(model.OPEN))


@dataclass(frozen=True, slots=True)
class InstalmentView:
    n: int
    due_date: date
    principal: int
    interest: int


@dataclass(frozen=True, slots=True)
class DrawdownView:
    id: int
    order_ref: str
    agent_id: int
    funder_code: str
    amount: int
    fee: int
    term_days: int
    annual_rate_ppm: int
    status: str
    requested_on: date
    fund_by: date
    credited_on: date | None
    due_date: date | None
    principal: int
    outcome: str = "created"  # created | exists (the same request again)
    method: str = Method.BULLET  # bullet, or a term loan's instalment method
    # A term loan's schedule, fixed when the money was credited (none for a bullet).
    instalments: tuple[InstalmentView, ...] = ()


def view(tx: Tx, d: Drawdown, outcome: str = "created") -> DrawdownView:
    funder = funder_code_of(tx, d.funder_id)
    return DrawdownView(
        d.id,
        d.order_ref,
        d.agent_id,
        funder,
        d.amount,
        d.fee,
        d.term_days,
        d.annual_rate_ppm,
        d.status,
        d.requested_on,
        d.fund_by,
        d.credited_on,
        d.due_date,
        d.principal,
        outcome,
        d.method,
        instalments_of(tx, d),
    )


def instalments_of(tx: Tx, d: Drawdown) -> tuple[InstalmentView, ...]:
    if d.method == Method.BULLET:
        return ()  # no query: most loans are a line's bullets
    rows = tx.session.execute(
        select(
            DrawdownInstalment.n,
            DrawdownInstalment.due_date,
            DrawdownInstalment.principal,
            DrawdownInstalment.interest,
        )
        .where(DrawdownInstalment.drawdown_id == d.id)
        .order_by(DrawdownInstalment.n)
    )
    return tuple(InstalmentView(*row) for row in rows)


def active_line(tx: Tx, agent_id: int, *, lock: bool = False) -> CreditLine | None:
    """The agent's active line (revolving or term), if any: not its order facility."""
    return _active_in(tx, agent_id, LINE_FAMILY, lock=lock)


def active_facility(tx: Tx, agent_id: int, *, lock: bool = False) -> CreditLine | None:
    """The agent's active order facility (订单融资额度), if any."""
    return _active_in(tx, agent_id, ORDER_FAMILY, lock=lock)


def _active_in(tx: Tx, agent_id: int, family: str, *, lock: bool) -> CreditLine | None:
    """The agent's active line in a product family: one at most (its engagement)."""
    query = (
        select(CreditLine)
        .join(FunderProduct, FunderProduct.id == CreditLine.product_id)
        .where(
            CreditLine.agent_id == agent_id,
            CreditLine.status == "active",
            family_sql(FunderProduct.kind) == family,
        )
    )
    return tx.session.scalars(query.with_for_update(of=CreditLine) if lock else query).one_or_none()


def used_on_line(tx: Tx, line_id: int) -> int:
    """What the line carries: orders not yet funded (or, for an order's advance, not yet
    paid to the supplier), and principal outstanding."""
    return int(tx.session.scalar(_used_on(line_id)) or 0)


def _used_on(line_id: object) -> Select[int]:
    d = Drawdown
    return select(
        func.coalesce(
            func.sum(
                case(
                    (d.status.in_(ASKED), d.amount),
                    (d.status.in_(LENT), d.principal),
                    else_=0,
                )
            ),
            0,
        )
    ).where(d.line_id == line_id, d.status.in_((*ASKED, *LENT)))


@transactional
def request_drawdown(
    tx: Tx, agent_code: str, amount: int, term_days: int, key: str
) -> DrawdownView:
    """Ask the line's funder for ``amount`` fen for ``term_days`` days. The same key
    again returns the first order; with another amount or term it is refused."""
    amount = check_amount(amount)
    agent_id = agent_id_of(tx, agent_code)
    today = business_date_of(tx)
    # A key is new on almost every request: its id is asked first (a statement built
    # once), the order itself only when there is one.
    earlier_id = send(tx, _ORDERED_UNDER, {"agent": agent_id, "key": key}).scalar()
    earlier = None if earlier_id is None else tx.session.get(Drawdown, earlier_id)
    if earlier is not None:
        if (earlier.amount, earlier.term_days) != (amount, term_days):
            raise YirongError(
                "exists_with_different_amount"
                if earlier.amount != amount
                else "exists_with_different_term",
                key=key,
                drawdown=earlier.id,
            )
        return view(tx, earlier, "exists")
    # One drawdown at a time per line: the line is locked until this one is written.
    line, product = _lendable(tx, agent_id, agent_code, amount, term_days, lock=True)
    drawdown = new_drawdown_in(
        tx,
        line,
        product,
        amount,
        term_days,
        key,
        fee=ppm_of(amount, product.fee_ppm),
        method=Method.BULLET if is_bullet(product.kind) else Method(product.method),
    )
    funder = view(tx, drawdown).funder_code
    tell(
        tx,
        f"funder:{funder}",
        "drawdown.ordered",
        drawdown.id,
        today,
        order_ref=drawdown.order_ref,
        amount=amount,
        term_days=term_days,
        fund_by=drawdown.fund_by,
    )
    return view(tx, drawdown)


_ORDERED_UNDER = select(Drawdown.id).where(
    Drawdown.agent_id == bindparam("agent"), Drawdown.request_key == bindparam("key")
)


def new_drawdown_in(
    tx: Tx,
    line: CreditLine,
    product: FunderProduct,
    amount: int,
    term_days: int,
    key: str,
    *,
    fee: int,
    method: Method,
) -> Drawdown:
    """A new order to the line's funder on its terms, written with its public
    reference (a keyed permutation of the id: it does not count drawdowns)."""
    today = business_date_of(tx)
    ordered = dict(
        order_ref="",
        request_key=key,
        line_id=line.id,
        agent_id=line.agent_id,
        funder_id=line.funder_id,
        product_id=product.id,
        amount=amount,
        fee=fee,
        term_days=term_days,
        annual_rate_ppm=line.annual_rate_ppm,
        penalty_rate_ppm=penalty_rate_ppm(line.annual_rate_ppm, product.penalty_multiplier_ppm),
        day_basis=product.day_basis,
        grace_days=product.grace_days,
        allocation_order=product.allocation_order,
        compounds=product.compounds,
        method=method,
        status=model.DrawdownStatus.REQUESTED,
        requested_on=today,
        fund_by=today + timedelta(days=FUNDING_DAYS - 1),
        principal=0,
        since_day=0,
        normal_fen_days=0,
        penalty_fen_days=0,
        overdue_day=0,
        interest_paid=0,
        penalty_paid=0,
        principal_paid=0,
        accrual_open=False,
        interest_charged=0,
        penalty_charged=0,
        credited_on=None,
        due_date=None,
        closed_on=None,
        reason=None,
    )
    # Written in Core (the ORM's unit of work cost more than the statements, on every
    # drawdown); the entity answered is a copy, for the caller to read.
    drawdown_id = send(tx, _NEW_ORDER, ordered).scalar_one()
    ordered["order_ref"] = f"YR{today:%Y%m%d}{conceal(drawdown_id, 10, 'order'):010d}"
    send(tx, _ORDER_REF, {"drawdown": drawdown_id, "ref": ordered["order_ref"]})
    return Drawdown(id=drawdown_id, **ordered)


_NEW_ORDER = insert(Drawdown).returning(Drawdown.id)
_ORDER_REF = (
    update(Drawdown).where(Drawdown.id == bindparam("drawdown")).values(order_ref=bindparam("ref"))
)


# What stands in the way of a drawdown (built once: it is on every drawdown's path).
_OBSTACLES = select(
    select(func.count())
    .where(Drawdown.agent_id == bindparam("agent"), Drawdown.status == "overdue")
    .scalar_subquery(),
    agent_freezes(FreezeReason.LEGAL_ORDER).scalar_subquery(),
    _used_on(bindparam("line")).scalar_subquery(),
)


@cache
def _line_and_product(lock: bool) -> Select[CreditLine, FunderProduct]:
    """The agent's active line (:func:`active_line`) with its product, in one statement
    built once (a drawdown's hot path)."""
    query = (
        select(CreditLine, FunderProduct)
        .join(FunderProduct, FunderProduct.id == CreditLine.product_id)
        .where(
            CreditLine.agent_id == bindparam("agent"),
            CreditLine.status == "active",
            family_sql(FunderProduct.kind) == LINE_FAMILY,
        )
    )
    return query.with_for_update(of=CreditLine) if lock else query


def _lendable(
    tx: Tx, agent_id: int, agent_code: str, amount: int, term_days: int, *, lock: bool
) -> tuple[CreditLine, FunderProduct]:
    """The agent's line and its product, if they lend ``amount`` for ``term_days``
    today; else the refusal a drawdown would meet."""
    today = business_date_of(tx)
    found = tx.session.execute(_line_and_product(lock), {"agent": agent_id}).one_or_none()
    if found is None:
        raise YirongError("line_not_active", agent=agent_code)
    line, product = found
    if line.valid_until < today:
        raise YirongError(
            "line_expired", line=CREDIT_LINE.of(line.id), valid_until=str(line.valid_until)
        )
    # What stands in the way, in one statement: overdue loans, a legal order's freeze,
    # what the line already carries.
    # Nothing of the session's is pending here (a drawdown, or its preview, changes
    # nothing before it asks), so the statement needs no flush before it.
    overdue, legal_orders, used = send(
        tx, _OBSTACLES, {"agent": agent_id, "agent_code": agent_code, "line": line.id}
    ).one()
    if overdue:
        raise YirongError("loan_overdue", agent=agent_code)
    if legal_orders:
        raise YirongError("frozen_by_legal_order", agent=agent_code)
    longest = min(product.max_term_days, line.max_term_days)
    if not product.min_term_days <= term_days <= longest:
        raise YirongError(
            "term_invalid", term_days=term_days, shortest=product.min_term_days, longest=longest
        )
    available = line.credit_limit - int(used or 0)
    if amount > available:
        raise YirongError("exceeds_available_limit", amount=amount, available=available)
    return line, product


@read_only
def preview_drawdown(tx: Tx, agent_code: str, amount: int, term_days: int) -> Schedule:
    """The schedule a drawdown of ``amount`` fen for ``term_days`` days would follow
    if its money came today, fee and interest included, refused as the drawdown would
    be: a term product's instalments are the very ones its loan will keep
    (``funding``), a line's drawdown is one repayment at the end of its days."""
    amount = check_amount(amount)
    agent = agent_row(tx, agent_code)
    line, product = _lendable(tx, agent.id, agent_code, amount, term_days, lock=False)
    method = Method.BULLET if is_bullet(product.kind) else Method(product.method)
    return build_schedule(
        amount,
        ppm_to_rate(line.annual_rate_ppm),
        method,
        business_date_of(tx),
        periods=product.periods or 1,
        day_basis=product.day_basis,
        days=term_days if method is Method.BULLET else None,
        fee=ppm_of(amount, product.fee_ppm),
    )


def _locked(tx: Tx, drawdown_id: int) -> Drawdown:
    d = tx.session.get(Drawdown, drawdown_id, with_for_update=True)
    if d is None:
        raise YirongError("drawdown_not_found", drawdown=drawdown_id)
    return d


@transactional
def cancel_drawdown(tx: Tx, agent_code: str, drawdown_id: int) -> DrawdownView:
    """The agent withdraws an order no money has come for yet."""
    agent = agent_row(tx, agent_code)
    d = _locked(tx, drawdown_id)
    if d.agent_id != agent.id:  # asked before its state: another's order says nothing
        raise YirongError("drawdown_not_found", drawdown=drawdown_id)
    d.status = model.after(d.status, model.Event.CANCELLED, drawdown=d.id)
    d.closed_on, d.reason = business_date_of(tx), "agent_cancelled"
    return view(tx, d)


@transactional
def reject_drawdown(tx: Tx, funder_code: str, drawdown_id: int, reason: str) -> DrawdownView:
    """The funder declines to fund the order: the line's amount is free again."""
    d = _locked(tx, drawdown_id)
    if view(tx, d).funder_code != funder_code:
        raise YirongError("drawdown_not_found", drawdown=drawdown_id)  # not theirs
    d.status = model.after(d.status, model.Event.REJECTED, drawdown=d.id)
    d.closed_on, d.reason = business_date_of(tx), reason[:64]
    return view(tx, d)


@read_only
def drawdowns_of(tx: Tx, agent_code: str) -> list[DrawdownView]:
    agent = agent_row(tx, agent_code)
    rows = tx.session.scalars(
        select(Drawdown).where(Drawdown.agent_id == agent.id).order_by(Drawdown.id)
    )
    return [view(tx, d) for d in rows]
