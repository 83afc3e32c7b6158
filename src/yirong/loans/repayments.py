"""Repayment (还款): from the agent's wallet to its funder's payment account, split by
the product's allocation order, in one transaction with everything it implies: the
drawdowns' clocks and paid amounts, the funder's memo book, the platform's revenue
share on the interest and penalty collected, the funder's notice (outbox), and the
wallet's overdue freeze lifted when nothing overdue is left.

While a loan is overdue the wallet is frozen, and what it holds (now, and whatever
lands in it later) repays the overdue debt first: :func:`sweep_in`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from yirong.agents.service import agent_row
from yirong.books.service import REVENUE, business_date_of
from yirong.errors import YirongError
from yirong.funders.accounts import memo_account, share_account
from yirong.funders.tables import Funder
from yirong.infra.db import Tx, read_only, transactional
from yirong.infra.outbox import tell
from yirong.ledger import service as ledger
from yirong.ledger.model import Leg, NewEntry, Side
from yirong.loans import model
from yirong.loans.accruals import accrual_total
from yirong.loans.allocation import Owed, Share, allocate, parse_order
from yirong.loans.debts import Debt, clock_of, debts_of, owed_by, split_over
from yirong.loans.interest import charged
from yirong.loans.model.term import TermLoan
from yirong.loans.tables import Drawdown, Repayment, RepaymentPart
from yirong.loans.term_loans import sync
from yirong.money import check_amount, ppm_of
from yirong.wallets.service import FreezeReason, frozen_for, unfreeze_in, wallet_account

OUTSTANDING = ("credited", "overdue")


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


def _outstanding(tx: Tx, agent_id: int, *, overdue_only: bool) -> list[Drawdown]:
    statuses = ("overdue",) if overdue_only else OUTSTANDING
    return list(
        tx.session.scalars(
            select(Drawdown)
            .where(Drawdown.agent_id == agent_id, Drawdown.status.in_(statuses))
            .order_by(Drawdown.credited_on, Drawdown.id)
            .with_for_update()
        )
    )


@transactional
def repay(tx: Tx, agent_code: str, amount: int | None, key: str) -> RepaymentView:
    """Repay ``amount`` fen (``None``: everything owed today) from the wallet. Never
    more than is owed; the same key again returns the first repayment."""
    agent = agent_row(tx, agent_code)
    earlier = _earlier(tx, agent.id, key)
    if earlier is not None:
        if amount is not None and earlier.amount != amount:
            raise YirongError("exists_with_different_amount", key=key, repayment=earlier.id)
        return view(earlier, "exists")
    if amount is not None:
        amount = check_amount(amount)
    debts = debts_of(tx, _outstanding(tx, agent.id, overdue_only=False), business_date_of(tx))
    owed, paying = split_over(debts, amount, agent_code)
    return view(_apply(tx, agent_code, agent.id, debts, owed, paying, key, "asked"))


def sweep_in(tx: Tx, agent_code: str, overdue_on: date | None = None) -> RepaymentView | None:
    """Repay the overdue debt from what the wallet holds, as far as it goes (within the
    caller's transaction: a credit, or the end of day that found the loan overdue,
    which says ``overdue_on``: the day it is overdue from, tomorrow's)."""
    agent = agent_row(tx, agent_code)
    debts = debts_of(tx, _outstanding(tx, agent.id, overdue_only=True), business_date_of(tx))
    if not debts:
        return None
    owed = [x.due for x in debts]
    available = ledger.balance_of(tx, wallet_account(tx, f"agent:{agent_code}")).available
    amount = min(available, sum(o.total for o in owed))
    if amount <= 0:
        return None
    swept = tx.session.scalar(
        select(func.count()).where(Repayment.agent_id == agent.id, Repayment.kind == "sweep")
    )
    key = f"sweep:{(swept or 0) + 1}"
    return view(_apply(tx, agent_code, agent.id, debts, owed, amount, key, "sweep", overdue_on))


def _earlier(tx: Tx, agent_id: int, key: str) -> Repayment | None:
    return tx.session.scalars(
        select(Repayment).where(Repayment.agent_id == agent_id, Repayment.request_key == key)
    ).one_or_none()


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
) -> Repayment:
    today = business_date_of(tx)
    drawdowns = [x.drawdown for x in debts]
    funder = tx.session.get(Funder, drawdowns[0].funder_id)
    assert funder is not None and all(d.funder_id == funder.id for d in drawdowns)
    shares = allocate(amount, owed, parse_order(drawdowns[0].allocation_order))
    penalty = sum(s.penalty for s in shares)
    interest = sum(s.interest for s in shares)
    principal = sum(s.principal for s in shares)
    share = ppm_of(penalty + interest, funder.revenue_share_ppm)
    entry = _post(tx, agent_code, funder.code, key, amount, penalty, interest, principal, share)
    repayment = Repayment(
        agent_id=agent_id,
        funder_id=funder.id,
        request_key=key,
        kind=kind,
        amount=amount,
        penalty=penalty,
        interest=interest,
        principal=principal,
        share=share,
        business_date=today,
        entry_id=entry,
    )
    tx.session.add(repayment)
    tx.session.flush()
    by_id = {d.id: d for d in drawdowns}
    terms = {x.drawdown.id: x.term for x in debts if x.term is not None}
    for s in shares:
        term = terms.get(s.drawdown_id)
        if term is None:
            _settle(tx, by_id[s.drawdown_id], s, today)
        else:
            _settle_term(tx, by_id[s.drawdown_id], term, s, today, overdue_on)
        tx.session.add(
            RepaymentPart(
                repayment_id=repayment.id,
                drawdown_id=s.drawdown_id,
                penalty=s.penalty,
                interest=s.interest,
                principal=s.principal,
            )
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
    lift_overdue_freeze(tx, agent_code, agent_id)
    return repayment


def repayment_entry_keys(agent_code: str, key: str) -> tuple[str, str, str]:
    """The ledger keys of a repayment's payment, memo-book and revenue-share entries."""
    base = f"repay:{agent_code}:{key}"
    return base, f"{base}:memo", f"{base}:share"


def _post(
    tx: Tx,
    agent_code: str,
    funder_code: str,
    key: str,
    amount: int,
    penalty: int,
    interest: int,
    principal: int,
    share: int,
) -> int:
    """The wallet pays the funder's account (a frozen wallet may: it is repayment);
    the funder's memo book collects; the platform books its share."""

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
                Leg(wallet_account(tx, f"agent:{agent_code}").id, Side.DEBIT, amount),
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
        for kind, fen_days, rate in (
            ("interest", d.normal_fen_days, d.annual_rate_ppm),
            ("penalty", d.penalty_fen_days, d.penalty_rate_ppm),
        ):
            total = accrual_total(tx, d.funder_id, d.product_id, kind)
            total.closed += charged(fen_days, rate, d.day_basis)
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


def lift_overdue_freeze(tx: Tx, agent_code: str, agent_id: int) -> bool:
    """Unfreeze the wallet when none of its owner's loans is overdue any longer (other
    reasons stay), if it is frozen for that."""
    still = tx.session.scalar(
        select(func.count()).where(
            Drawdown.agent_id == agent_id, Drawdown.status == model.DrawdownStatus.OVERDUE
        )
    )
    handle = f"agent:{agent_code}"
    if still or not frozen_for(tx, handle, FreezeReason.OVERDUE):
        return False
    unfreeze_in(tx, handle, FreezeReason.OVERDUE, note="nothing overdue is left", actor="loans")
    return True


@read_only
def owed_now(tx: Tx, agent_code: str) -> list[Owed]:
    """What each outstanding drawdown owes today (penalty, interest, principal), all
    of it: a term loan's payoff."""
    agent = agent_row(tx, agent_code)
    today = business_date_of(tx)
    rows = tx.session.scalars(
        select(Drawdown)
        .where(Drawdown.agent_id == agent.id, Drawdown.status.in_(OUTSTANDING))
        .order_by(Drawdown.credited_on, Drawdown.id)
    ).all()
    return [x.payoff for x in debts_of(tx, rows, today)]
