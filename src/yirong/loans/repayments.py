"""Repayment (还款): from the agent's wallet to its funder's payment account, split by
the product's allocation order, in one transaction with everything it implies: the
drawdowns' clocks and paid amounts, the funder's memo book, the platform's revenue
share on the interest and penalty collected, the funder's notice (outbox), and the
wallet's overdue freeze lifted when nothing overdue is left.

While a loan is overdue the wallet is frozen, and what it holds (now, and whatever
lands in it later) repays the overdue debt first: :func:`sweep_in`.

An agent may owe two funders at once (a line from one, order advances from another:
one funder at a time holds in each product family). Its debts are then taken in the
operator's priority (the ``debt_priority`` rule: oldest first, or one family's
before the other's), and the money goes to each run of the same funder's debts in
turn, each taking what it owes (or, paying less than everything, what is due): a
repayment for each such run, with its own postings, notice and revenue share. The
first keeps the request's key; the next are its parts (``part_key``), so that the
request asked again returns all of them, summed, and moves nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

from sqlalchemy import Select, bindparam, func, insert, select

from yirong.agents.service import agent_id_of, agent_row
from yirong.agents.tables import Agent
from yirong.books.service import REVENUE, business_date_of
from yirong.errors import YirongError
from yirong.funders.accounts import memo_account, share_account
from yirong.funders.tables import Funder, FunderProduct
from yirong.funders.terms import LINE_FAMILY, ORDER_FAMILY, family_of
from yirong.infra.db import Tx, read_only, transactional
from yirong.infra.direct import send
from yirong.infra.outbox import tell
from yirong.ledger import service as ledger
from yirong.ledger.model import Account, Leg, NewEntry, Side
from yirong.loans import model
from yirong.loans.accruals import add_to_closed, final_charges
from yirong.loans.allocation import Owed, Share, allocate, parse_order
from yirong.loans.debts import Debt, clock_of, debts_of, owed_by, split_over
from yirong.loans.model.term import TermLoan
from yirong.loans.tables import Drawdown, Repayment, RepaymentPart
from yirong.loans.term_loans import sync
from yirong.money import check_amount, ppm_of
from yirong.policy.service import setting
from yirong.wallets.service import FreezeReason, agent_freezes, unfreeze_in, wallet_account

OUTSTANDING = ("credited", "overdue")
# A request's later parts are kept under its key, this and their number: "<key> #2".
# No key a client gives has a space (its ledger keys would be refused: ``repay``
# refuses it first), so no part's key is ever another request's.
PART = " #"
# What each priority puts first (the rest follow; each family oldest first).
FIRST = {"line_first": LINE_FAMILY, "order_first": ORDER_FAMILY}


@dataclass(frozen=True, slots=True)
class RepaymentView:
    id: int
    amount: int
    penalty: int
    interest: int
    principal: int
    share: int
    kind: str
    business_date: date
    outcome: str = "created"  # created | exists


def view(r: Repayment, outcome: str = "created") -> RepaymentView:
    return RepaymentView(
        r.id,
        r.amount,
        r.penalty,
        r.interest,
        r.principal,
        r.share,
        r.kind,
        r.business_date,
        outcome,
    )


def outstanding(
    tx: Tx, agent_id: int, *, overdue_only: bool = False, lock: bool = True
) -> list[Drawdown]:
    """The agent's outstanding (or overdue) drawdowns in the order its money pays
    them: oldest first (by the day lent, then id), or, when they are of both product
    families, in the operator's ``debt_priority``."""
    rows = [
        (d, family_of(kind))
        for d, kind in tx.session.execute(_outstanding(overdue_only, lock), {"agent": agent_id})
    ]
    if len({family for _, family in rows}) > 1:
        first = FIRST.get(setting(tx, "debt_priority"))
        if first is not None:
            rows.sort(key=lambda row: row[1] != first)  # stable: oldest first within each
    return [d for d, _ in rows]


@cache
def _outstanding(overdue_only: bool, lock: bool) -> Select[Drawdown, str]:
    """:func:`outstanding`'s statement, built once (every repayment asks it)."""
    statuses = ("overdue",) if overdue_only else OUTSTANDING
    query = (
        select(Drawdown, FunderProduct.kind)
        .join(FunderProduct, FunderProduct.id == Drawdown.product_id)
        .where(Drawdown.agent_id == bindparam("agent"), Drawdown.status.in_(statuses))
        .order_by(Drawdown.credited_on, Drawdown.id)
    )
    return query.with_for_update(of=Drawdown) if lock else query


def by_funder(
    debts: Sequence[Debt], owed: Sequence[Owed], amount: int
) -> list[tuple[list[Debt], list[Owed], int]]:
    """``amount`` split over the runs of the same funder's debts, in their order
    (``owed``: what each debt is repaid on, as ``split_over`` chose): each run takes
    what it owes until nothing is left. A run it does not reach is not listed."""
    runs: list[tuple[list[Debt], list[Owed]]] = []
    for debt, o in zip(debts, owed, strict=True):
        if runs and runs[-1][0][-1].drawdown.funder_id == debt.drawdown.funder_id:
            runs[-1][0].append(debt)
            runs[-1][1].append(o)
        else:
            runs.append(([debt], [o]))
    split, left = [], amount
    for run, run_owed in runs:
        take = min(left, sum(o.total for o in run_owed))
        if take > 0:
            split.append((run, run_owed, take))
            left -= take
    assert left == 0, f"{left} fen of {amount} left over"
    return split


def part_key(key: str, n: int) -> str:
    """The key of a request's ``n``-th part (the first is the request's own)."""
    return key if n == 1 else f"{key}{PART}{n}"


@transactional
def repay(tx: Tx, agent_code: str, amount: int | None, key: str) -> RepaymentView:
    """Repay ``amount`` fen (``None``: everything owed today) from the wallet. Never
    more than is owed; the same key again returns the first repayment."""
    agent_id = agent_id_of(tx, agent_code)
    if " " in key:  # as its ledger keys would be, before a part's key could match it
        raise YirongError("idempotency_key_invalid", key=key[:128])
    earlier = _earlier(tx, agent_id, key)
    if earlier:
        made = summed(earlier, "exists")
        if amount is not None and made.amount != amount:
            raise YirongError("exists_with_different_amount", key=key, repayment=made.id)
        return made
    if amount is not None:
        amount = check_amount(amount)
    debts = debts_of(tx, outstanding(tx, agent_id), business_date_of(tx))
    owed, paying = split_over(debts, amount, agent_code)
    return _apply_by_funder(tx, agent_code, agent_id, debts, owed, paying, key, "asked")


def sweep_in(tx: Tx, agent_code: str, overdue_on: date | None = None) -> RepaymentView | None:
    """Repay the overdue debt from what the wallet holds, as far as it goes (within the
    caller's transaction: a credit, or the end of day that found the loan overdue,
    which says ``overdue_on``: the day it is overdue from, tomorrow's)."""
    agent_id = agent_id_of(tx, agent_code)
    debts = debts_of(tx, outstanding(tx, agent_id, overdue_only=True), business_date_of(tx))
    if not debts:
        return None
    owed = [x.due for x in debts]
    available = ledger.balance_of(tx, wallet_account(tx, f"agent:{agent_code}")).available
    amount = min(available, sum(o.total for o in owed))
    if amount <= 0:
        return None
    # Sweeps are counted by their first parts: a sweep paid to two funders is one.
    swept = tx.session.scalar(
        select(func.count()).where(
            Repayment.agent_id == agent_id,
            Repayment.kind == "sweep",
            Repayment.request_key.not_like(f"%{PART}%"),
        )
    )
    key = f"sweep:{(swept or 0) + 1}"
    return _apply_by_funder(tx, agent_code, agent_id, debts, owed, amount, key, "sweep", overdue_on)


def _earlier(tx: Tx, agent_id: int, key: str) -> list[Repayment]:
    """The repayment made under ``key`` and its later parts, in order; none if none.
    A request's first part carries the key itself: asked first, in a statement built
    once, since a key is new on almost every request."""
    if send(tx, _MADE_UNDER, {"agent": agent_id, "key": key}).scalar() is None:
        return []
    parts = f"{key}{PART}"
    return list(
        tx.session.scalars(
            select(Repayment)
            .where(
                Repayment.agent_id == agent_id,
                (Repayment.request_key == key)
                # Not LIKE: SQLite's ignores case, and a key may hold % or _.
                | (func.substr(Repayment.request_key, 1, len(parts)) == parts),
            )
            .order_by(Repayment.id)
        )
    )


_MADE_UNDER = select(Repayment.id).where(
    Repayment.agent_id == bindparam("agent"), Repayment.request_key == bindparam("key")
)


def summed(parts: Sequence[Repayment], outcome: str = "created") -> RepaymentView:
    """A request's repayment: its one part as it is, or its parts summed under the
    first's id."""
    if len(parts) == 1:
        return view(parts[0], outcome)
    first = parts[0]
    return RepaymentView(
        first.id,
        sum(r.amount for r in parts),
        sum(r.penalty for r in parts),
        sum(r.interest for r in parts),
        sum(r.principal for r in parts),
        sum(r.share for r in parts),
        first.kind,
        first.business_date,
        outcome,
    )


def _apply_by_funder(
    tx: Tx,
    agent_code: str,
    agent_id: int,
    debts: list[Debt],
    owed: list[Owed],
    amount: int,
    key: str,
    kind: str,
    overdue_on: date | None = None,
) -> RepaymentView:
    """``amount`` over ``debts`` (in the order it pays them): a repayment to each
    funder's run of them in turn, the first under ``key`` and the next as its parts."""
    made = [
        _apply(tx, agent_code, agent_id, run, run_owed, take, part_key(key, n), kind, overdue_on)
        for n, (run, run_owed, take) in enumerate(by_funder(debts, owed, amount), start=1)
    ]
    return summed(made)


def _apply(
    tx: Tx,
    agent_code: str,
    agent_id: int,
    debts: list[Debt],
    owed: list[Owed],
    amount: int,
    key: str,
    kind: str,
    overdue_on: date | None = None,
    *,
    source: Account | None = None,
    order: Sequence[str] | None = None,
) -> Repayment:
    """``source``: where the money comes from (the agent's wallet unless said);
    ``order``: how it is split (the product's allocation order unless said)."""
    today = business_date_of(tx)
    drawdowns = [x.drawdown for x in debts]
    funder_id = drawdowns[0].funder_id
    assert all(d.funder_id == funder_id for d in drawdowns)
    funder = send(tx, _FUNDER_TERMS, {"funder": funder_id}).one()
    # Only paying an overdue loan can end the overdue that froze the wallet.
    paid_overdue = any(d.status == model.DrawdownStatus.OVERDUE for d in drawdowns)
    shares = allocate(amount, owed, order or parse_order(drawdowns[0].allocation_order))
    penalty = sum(s.penalty for s in shares)
    interest = sum(s.interest for s in shares)
    principal = sum(s.principal for s in shares)
    share = ppm_of(penalty + interest, funder.revenue_share_ppm)
    paid_from = source or wallet_account(tx, f"agent:{agent_code}")
    entry = _post(
        tx, agent_code, funder.code, key, (amount, penalty, interest, principal, share), paid_from
    )
    made = {
        "agent_id": agent_id,
        "funder_id": funder_id,
        "request_key": key,
        "kind": kind,
        "amount": amount,
        "penalty": penalty,
        "interest": interest,
        "principal": principal,
        "share": share,
        "business_date": today,
        "entry_id": entry,
        "reversed_on": None,
        "reversal_reason": None,
    }
    # Written in Core (the ORM's unit of work cost more than the inserts themselves,
    # on every repayment); the entity answered is a copy, for the view.
    repayment = Repayment(id=send(tx, _NEW_REPAYMENT, made).scalar(), **made)
    by_id = {d.id: d for d in drawdowns}
    terms = {x.drawdown.id: x.term for x in debts if x.term is not None}
    for s in shares:
        term = terms.get(s.drawdown_id)
        if term is None:
            _settle(tx, by_id[s.drawdown_id], s, today)
        else:
            _settle_term(tx, by_id[s.drawdown_id], term, s, today, overdue_on)
    tx.conn.execute(
        insert(RepaymentPart),
        [
            {
                "repayment_id": repayment.id,
                "drawdown_id": s.drawdown_id,
                "penalty": s.penalty,
                "interest": s.interest,
                "principal": s.principal,
            }
            for s in shares
        ],
    )
    tell(
        tx,
        f"funder:{funder.code}",
        "repayment.received",
        repayment.id,
        today,
        amount=amount,
        penalty=penalty,
        interest=interest,
        principal=principal,
        parts=[
            {"drawdown": by_id[s.drawdown_id].order_ref, "principal": s.principal} for s in shares
        ],
    )
    if paid_overdue:
        lift_overdue_freeze(tx, agent_code, agent_id)
    return repayment


_NEW_REPAYMENT = insert(Repayment).returning(Repayment.id)
# What a repayment needs of its funder (built once: every repayment asks it).
_FUNDER_TERMS = select(Funder.code, Funder.revenue_share_ppm).where(
    Funder.id == bindparam("funder")
)


def repayment_entry_keys(agent_code: str, key: str) -> tuple[str, str, str]:
    """The ledger keys of a repayment's payment, memo-book and revenue-share entries
    (``key``: its own, a part's too). A request's later part has its number in the
    prefix (``repay#2:``), where no client's key can reach."""
    first, _, n = key.partition(PART)
    base = f"repay#{n}:{agent_code}:{first}" if n else f"repay:{agent_code}:{key}"
    return base, f"{base}:memo", f"{base}:share"


def _post(
    tx: Tx,
    agent_code: str,
    funder_code: str,
    key: str,
    figures: tuple[int, int, int, int, int],
    source: Account,
) -> int:
    """The wallet (or ``source``) pays the funder's account (a frozen wallet may: it is
    repayment); the funder's memo book collects; the platform books its share.
    ``figures``: the amount, its penalty, interest and principal, and the share."""
    amount, penalty, interest, principal, share = figures

    def memo(part: str) -> int:
        return ledger.account_by_code(tx, memo_account(funder_code, part)).id

    collected = [
        Leg(memo(part), Side.CREDIT, value)
        for part, value in (("penalty", penalty), ("interest", interest), ("principal", principal))
        if value
    ]
    payment_key, memo_key, share_key = repayment_entry_keys(agent_code, key)
    entries = [
        NewEntry(
            payment_key,
            "loan.repayment",
            (
                Leg(source.id, Side.DEBIT, amount),
                Leg(wallet_account(tx, f"funder:{funder_code}").id, Side.CREDIT, amount),
            ),
            debit_block_exempt=True,
        ),
        NewEntry(
            memo_key,
            "loan.collected",
            (Leg(memo("lent"), Side.DEBIT, amount), *collected),
        ),
    ]
    if share:
        entries.append(
            NewEntry(
                share_key,
                "loan.revenue_share",
                (
                    Leg(
                        ledger.account_by_code(tx, share_account(funder_code)).id, Side.DEBIT, share
                    ),
                    Leg(ledger.account_by_code(tx, REVENUE).id, Side.CREDIT, share),
                ),
            )
        )
    results = ledger.post_batch(tx, entries, atomic=True)
    entry_id = results[0].entry_id
    assert entry_id is not None
    return entry_id


def _settle(tx: Tx, d: Drawdown, s: Share, today: date) -> None:
    """The drawdown after its share: paid amounts, the clock moved to the new
    principal, and, when no principal is left, the clock closed for good (its final
    charge joins its funder's closed total, which the end of day posts from)."""
    clock = clock_of(d).moved_to(today, d.principal - s.principal)
    d.penalty_paid += s.penalty
    d.interest_paid += s.interest
    d.principal_paid += s.principal
    d.principal, d.since_day = clock.principal, clock.since
    d.normal_fen_days, d.penalty_fen_days = clock.normal_fen_days, clock.penalty_fen_days
    if d.principal == 0 and d.accrual_open:
        d.accrual_open = False
        add_to_closed(tx, d.funder_id, d.product_id, final_charges(d))
    left = owed_by(d, today)
    if left.total == 0:
        d.status, d.closed_on = model.after(d.status, model.Event.REPAID, drawdown=d.id), today


def _settle_term(
    tx: Tx, d: Drawdown, loan: TermLoan, s: Share, today: date, overdue_on: date | None
) -> None:
    """A term loan after its share: the model splits it over the instalments (the
    very split the agent-level allocation gave its components) and the drawdown is
    written from the model."""
    after, parts = loan.repay(today, s.total)
    assert (
        sum(p.penalty + p.compound for p in parts),
        sum(p.interest for p in parts),
        sum(p.principal for p in parts),
    ) == (s.penalty, s.interest, s.principal)
    sync(tx, d, after, today, overdue_on)


# Loans still overdue, and the wallet's overdue freeze (built once: every repayment
# asks it).
_STILL_FROZEN = select(
    select(func.count())
    .where(Drawdown.agent_id == bindparam("agent"), Drawdown.status == model.DrawdownStatus.OVERDUE)
    .scalar_subquery(),
    agent_freezes(FreezeReason.OVERDUE).scalar_subquery(),
)


def lift_overdue_freeze(tx: Tx, agent_code: str, agent_id: int) -> bool:
    """Unfreeze the wallet when none of its owner's loans is overdue any longer (other
    reasons stay), if it is frozen for that."""
    handle = f"agent:{agent_code}"
    still, frozen = tx.session.execute(  # the session's, so its changes are flushed
        _STILL_FROZEN, {"agent": agent_id, "agent_code": agent_code}
    ).one()
    if still or not frozen:
        return False
    unfreeze_in(tx, handle, FreezeReason.OVERDUE, note="nothing overdue is left", actor="loans")
    return True


def repay_from_in(
    tx: Tx, drawdown_id: int, amount: int, key: str, source: Account, order: Sequence[str]
) -> int:
    """Repay one drawdown from ``source`` instead of the wallet, split in ``order`` (an
    order's supplier refunding part of it: its money repays the principal first), at
    most what it owes today; returns what was repaid (0 if it owes nothing)."""
    d = tx.session.get(Drawdown, drawdown_id, with_for_update=True)
    if d is None or d.status not in OUTSTANDING:
        return 0
    agent_code = tx.session.get(Agent, d.agent_id)
    assert agent_code is not None
    [debt] = debts_of(tx, [d], business_date_of(tx))
    take = min(amount, debt.payoff.total)
    if take == 0:
        return 0
    _apply(
        tx,
        agent_code.code,
        d.agent_id,
        [debt],
        [debt.payoff],
        take,
        key,
        "refund",
        source=source,
        order=order,
    )
    return take


@read_only
def owed_now(tx: Tx, agent_code: str) -> list[Owed]:
    """What each outstanding drawdown owes today (penalty, interest, principal), all
    of it: a term loan's payoff; in the order a repayment pays them, to whichever
    funder."""
    agent = agent_row(tx, agent_code)
    today = business_date_of(tx)
    rows = outstanding(tx, agent.id, lock=False)
    return [x.payoff for x in debts_of(tx, rows, today)]
