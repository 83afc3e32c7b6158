"""The demo's months of lending, one business day at a time, every flow of a loan's
life through the same service functions as the command line:

* agents with a line draw on it; the funder's money reaches the reserve account quoting
  the order (most the same day, some the next; a few short, late or never, and now and
  then a payment quoting nothing known), and an operator returns what matched nothing;
* agents spend what they borrowed on the carrier's stock, and most repay by the due
  date (topping up first if the wallet is short), some in part along the way;
* some do not: the end of day marks the loan overdue, freezes the wallet and sweeps it,
  and every later credit (a commission file, a top-up) repays first until nothing
  overdue is left and the wallet unfreezes; a few are still late when the demo ends;
* an operator reverses a repayment made twice by mistake (its revenue share with it);
* each month's first business day, pre-approval runs on the new month's features,
  more agents apply, and each funder's revenue-share statement for the month closed;
* the carrier's commission file arrives on the 3rd; the bank pays the funders out;
* every day ends with the end of day (``yirong eod run``)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial

from yirong.books.service import current_business_date
from yirong.credit import applications as apps
from yirong.credit.decisions import decide_by_scorecards
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.demo.marketplace import Market, firm_details
from yirong.demo.wallet_days import one_day
from yirong.demo.year import Profile, commission_file
from yirong.eod.service import run_eod
from yirong.errors import YirongError
from yirong.loans.drawdowns import request_drawdown
from yirong.loans.funding import exceptions, receive_funding, return_to_funder
from yirong.loans.repayments import owed_now, repay
from yirong.loans.reversals import reverse_repayment
from yirong.loans.statements import revenue_share_statement
from yirong.pricing.schedule import add_months
from yirong.wallets import service as wallets

FUNDER_CODES = ("F01", "F02", "F03")
DRAW_CHANCE = 0.05  # per idle borrower per day
LATE_PAYERS = 0.15  # borrowers who let a loan fall overdue
PARTIAL_CHANCE = 0.01  # per day, a borrower repays part of a loan early
REVERSAL_DAY = 45
REVOLVING_DAYS = (14, 30, 30, 45, 60, 90)  # working capital until the next commissions
TERM_PRODUCT, TERM_LOAN_DAYS = (
    "TERM6",
    (180,),
)  # the day an operator reverses a repayment made twice


@dataclass
class Loan:
    order_ref: str
    amount: int
    term_days: int
    credited_on: date | None = None
    due: date | None = None
    repay_on: date | None = None  # when the borrower means to settle it
    late: bool = False  # it will fall overdue


@dataclass
class Borrower:
    code: str
    funder: str
    limit: int
    terms: tuple[int, ...]  # the terms it draws for (its product's)
    late_payer: bool
    loan: Loan | None = None
    rest_until: date = date.min  # no new drawdown before


@dataclass
class Arrival:
    on: date
    funder: str
    reference: str
    amount: int


@dataclass
class Lending:
    market: Market
    profile: Profile
    borrowers: dict[str, Borrower] = field(default_factory=dict)
    arrivals: list[Arrival] = field(default_factory=list)
    receipts: int = 0
    reversed_one: bool = False

    @property
    def rnd(self) -> random.Random:
        return self.market.rnd

    def count(self, name: str, n: int = 1) -> None:
        self.market.result.counts[name] += n

    def attempt(self, call: Callable[[], object]) -> bool:
        """Run a step a real client might see refused; count the refusal by its code."""
        try:
            call()
        except YirongError as exc:
            self.market.result.refusals[exc.code] += 1
            return False
        return True


def play_lending(
    lending: Lending, codes: list[str], days: int, advance: Callable[[], None]
) -> None:
    """``days`` business days of lending, each closed by the end of day."""
    db = lending.market.db
    _enrol_borrowers(lending, current_business_date(db))
    pending_withdrawals: list[int] = []
    risk_frozen: list[str] = []
    for n in range(days):
        today = current_business_date(db)
        if today.day == 1 and n > 0:
            _month_start(lending, today)
        if today.day == 3:
            month = add_months(today.replace(day=1), -1)
            index = lending.rnd.randint(0, 11)  # this year's shape: like some month of last
            paid = commission_file(db, lending.rnd, codes, lending.profile, month, index)
            lending.count("commission_files")
            lending.count("commission_fen", sum(paid.values()))
        _bank_pays_funders(lending)
        _funds_arrive(lending, today)
        _operator_returns_exceptions(lending)
        _repayments(lending, today, n)
        _drawdowns(lending, today)
        one_day(
            db,
            lending.rnd,
            codes,
            today,
            pending_withdrawals,
            risk_frozen,
            lending.market.result,
            share=60,
        )
        report = run_eod(db)
        lending.count("eod_runs")
        lending.count("orders_expired", report.done["expire"]["orders"])
        advance()


# ---------------------------------------------------------------- lines


def _enrol_borrowers(lending: Lending, today: date) -> None:
    """Every agent with an active line the demo does not know yet."""
    for line in apps.lines(lending.market.db):
        if line.agent_code in lending.borrowers:
            continue
        lending.borrowers[line.agent_code] = Borrower(
            line.agent_code,
            line.funder_code,
            line.credit_limit,
            TERM_LOAN_DAYS if line.product_code == TERM_PRODUCT else REVOLVING_DAYS,
            late_payer=lending.rnd.random() < LATE_PAYERS,
            rest_until=today + timedelta(days=lending.rnd.randint(0, 20)),
        )


def _month_start(lending: Lending, today: date) -> None:
    """New month: the funders' statements for the month closed, pre-approval on the new
    month's features, and more agents apply for credit."""
    db, market = lending.market.db, lending.market
    closed = f"{add_months(today, -1):%Y-%m}"
    for funder in FUNDER_CODES:
        statement = revenue_share_statement(db, funder, closed)
        lending.count("statements")
        lending.count("statement_share_fen", statement.share)
    report = run_preapproval(db)
    lending.count("offers", report.offers_created)
    applied = 0
    for code in market.opted_in:
        if code in lending.borrowers or lending.rnd.random() > 0.25:
            continue
        offers = compare_offers(db, code)
        if not offers:
            continue
        details = firm_details(db, code)
        apply = partial(
            apps.apply_for_credit, db, code, offers[0].id, details, market.consent(today)
        )
        if lending.attempt(apply):
            applied += 1
    lending.count("applications", applied)
    decided = decide_by_scorecards(db)
    lending.count("applications_approved", decided.approved)
    lending.count("applications_rejected", sum(decided.rejected.values()))
    _enrol_borrowers(lending, today)


# ---------------------------------------------------------------- drawdowns


def _drawdowns(lending: Lending, today: date) -> None:
    rnd = lending.rnd
    for b in lending.borrowers.values():
        if b.loan is not None or today < b.rest_until or rnd.random() > DRAW_CHANCE:
            continue
        amount = max(100_000, int(b.limit * rnd.uniform(0.3, 1.0)) // 10_000 * 10_000)
        term = rnd.choice(b.terms)
        try:
            order = request_drawdown(
                lending.market.db, b.code, amount, term, f"draw:{today}:{b.code}"
            )
        except YirongError as exc:
            lending.market.result.refusals[exc.code] += 1
            b.rest_until = today + timedelta(days=7)
            continue
        b.loan = Loan(order.order_ref, amount, term)
        lending.count("drawdowns")
        _funder_sends(lending, b, order.order_ref, amount, today)


def _funder_sends(lending: Lending, b: Borrower, reference: str, amount: int, today: date) -> None:
    """How the funder's money comes: the same day, the next, short, late or never."""
    roll = lending.rnd.random()
    if roll < 0.82:
        lending.arrivals.append(Arrival(today, b.funder, reference, amount))
    elif roll < 0.93:
        lending.arrivals.append(Arrival(today + timedelta(days=1), b.funder, reference, amount))
    elif roll < 0.95:
        lending.arrivals.append(Arrival(today, b.funder, reference, amount - 10_000))  # short
    elif roll < 0.97:
        lending.arrivals.append(Arrival(today + timedelta(days=3), b.funder, reference, amount))
    # else: never sent; the end of day expires the order and frees the line


def _funds_arrive(lending: Lending, today: date) -> None:
    db, rnd = lending.market.db, lending.rnd
    due = [a for a in lending.arrivals if a.on <= today]
    lending.arrivals = [a for a in lending.arrivals if a.on > today]
    if today.day == 10:  # a payment quoting no order we know, and one paid twice
        due.append(Arrival(today, rnd.choice(FUNDER_CODES), f"INV-{today:%m%d}", 88_800))
        paid = [a for a in due if a.reference.startswith("YR")]
        if paid:
            due.append(paid[0])
    by_ref = {b.loan.order_ref: b for b in lending.borrowers.values() if b.loan}
    for arrival in due:
        lending.receipts += 1
        bank_ref = f"RSV{today:%Y%m%d}{lending.receipts:05d}"
        receipt = receive_funding(db, bank_ref, arrival.funder, arrival.reference, arrival.amount)
        b = by_ref.get(arrival.reference)
        if receipt.outcome != "matched":
            lending.count("funding_exceptions")
            if b is not None and b.loan is not None and b.loan.credited_on is None:
                b.loan, b.rest_until = None, today + timedelta(days=5)  # it will expire
            continue
        lending.count("fundings_matched")
        assert b is not None and b.loan is not None
        _credited(lending, b, today)


def _credited(lending: Lending, b: Borrower, today: date) -> None:
    """The money is in the wallet: most of it buys the carrier's stock at once."""
    rnd = lending.rnd
    loan = b.loan
    assert loan is not None
    loan.credited_on = today
    loan.due = due = today + timedelta(days=loan.term_days)
    loan.late = b.late_payer and rnd.random() < 0.6
    if loan.late:
        loan.repay_on = due + timedelta(days=rnd.randint(6, 70))  # overdue first
    else:
        loan.repay_on = due - timedelta(days=rnd.randint(0, 5))
    spend = int(loan.amount * rnd.uniform(0.6, 0.95))
    db = lending.market.db
    # (A wallet frozen by risk control in the meantime cannot spend: refused, counted.)
    if lending.attempt(partial(wallets.pay_carrier, db, b.code, spend, f"stock:{loan.order_ref}")):
        lending.count("carrier_prepayments")


def _operator_returns_exceptions(lending: Lending) -> None:
    """Unmatched money goes back to its funder the day after, but the last few
    stay listed for an operator to look at."""
    db = lending.market.db
    waiting = [e for e in exceptions(db) if e.resolution is None]
    for e in waiting[:-2] if len(waiting) > 2 else []:
        return_to_funder(db, e.id)
        lending.count("exceptions_returned")


# ---------------------------------------------------------------- repayments


def _repayments(lending: Lending, today: date, day_index: int) -> None:
    db, rnd = lending.market.db, lending.rnd
    for b in lending.borrowers.values():
        loan = b.loan
        if loan is None or loan.credited_on is None or loan.repay_on is None:
            continue
        assert loan.due is not None
        # Only overdue debt is swept, and only after the due date: before it there is
        # no need to ask what is owed unless the borrower acts.
        if today > loan.due and not owed_now(db, b.code):  # swept clean while overdue
            _settled(lending, b, today)
            continue
        if loan.late and today == loan.due:
            # It puts everything into stock instead: nothing is left to sweep when the
            # loan falls overdue, and the wallet stays frozen until money comes in.
            available = wallets.wallet(db, b.code).available
            if available > 0 and lending.attempt(
                partial(wallets.pay_carrier, db, b.code, available, f"all-in:{loan.order_ref}")
            ):
                lending.count("carrier_prepayments")
        if today >= loan.repay_on:
            owed = sum(o.total for o in owed_now(db, b.code))
            _top_up_for(lending, b, owed, f"settle:{loan.order_ref}:{today}")
            if owed_now(db, b.code):  # a top-up into an overdue wallet repays by itself
                made = repay(db, b.code, None, f"settle:{loan.order_ref}:{today}")
                lending.count("repayments_asked")
                if day_index >= REVERSAL_DAY and not lending.reversed_one:
                    _reverse_by_mistake(lending, b, made.id, today)
                    continue
            _settled(lending, b, today)
        elif today < loan.due and rnd.random() < PARTIAL_CHANCE:
            owed = sum(o.total for o in owed_now(db, b.code))
            part = min(owed - 1, int(loan.amount * rnd.uniform(0.1, 0.4)))
            if part > 0:
                _top_up_for(lending, b, part, f"part:{loan.order_ref}:{today}")
                repay(db, b.code, part, f"part:{loan.order_ref}:{today}")
                lending.count("repayments_partial")


def _top_up_for(lending: Lending, b: Borrower, amount: int, key: str) -> None:
    db = lending.market.db
    short = amount - wallets.wallet(db, b.code).available
    if short > 0:
        wallets.top_up(db, b.code, short, f"top:{key}", bank_ref=f"BANK:{key}")
        lending.count("top_ups_to_repay")


def _settled(lending: Lending, b: Borrower, today: date) -> None:
    b.loan = None
    b.rest_until = today + timedelta(days=lending.rnd.randint(3, 30))
    lending.count("loans_settled")


def _reverse_by_mistake(lending: Lending, b: Borrower, repayment_id: int, today: date) -> None:
    """The agent's app sent the repayment twice (two keys); the operator reverses the
    one the agent did not mean, and the loan is settled again the next day."""
    reverse_repayment(
        lending.market.db, repayment_id, "客户重复还款 the agent's app repaid twice by mistake"
    )
    lending.reversed_one = True
    lending.count("repayments_reversed")
    assert b.loan is not None
    b.loan.repay_on = today + timedelta(days=1)


def _bank_pays_funders(lending: Lending) -> None:
    """Yesterday's payouts to the funders (代付): the bank confirms them."""
    db = lending.market.db
    for funder in FUNDER_CODES:
        for withdrawal in wallets.open_withdrawals(db, f"funder:{funder}"):
            wallets.confirm_withdrawal(db, withdrawal, f"paid:{withdrawal}")
            lending.count("funder_payouts")
