"""The demo's months of lending, one business day at a time, every flow of a loan's
life through the same service functions as the command line:

* agents with a line draw on it; the funder sends a notice (which moves nothing) and its
  money to the reserve account quoting the order (most the same day, some the next; a
  few short, late or never; once in two parts, once two orders in one transfer, once a
  notice with no money at all; on the 10th a payment quoting nothing known and an order
  paid twice); the wallet is credited when the day's bank statement shows the money;
* every morning the bank executes the platform's payments (withdrawals, the funders'
  payouts, money returned) and the operations desk works the exception queue;
* agents spend what they borrowed on the carrier's stock, and most repay by the due
  date (topping up through the bank first if the wallet is short, and pressing repay
  once the statement has credited it), some in part along the way;
* a six-instalment loan (F03's) is paid instalment by instalment on its due dates; a
  late payer misses one, and it is overdue, frozen and swept as a bullet loan is,
  then current again once the missed instalment is paid;
* some do not: the end of day marks the loan overdue, freezes the wallet and sweeps it,
  and every later credit (a commission file, a top-up) repays first until nothing
  overdue is left and the wallet unfreezes; a few are still late when the demo ends;
* an operator reverses a repayment made twice by mistake (its revenue share with it);
* each month's first business day, pre-approval runs on the new month's features,
  more agents apply, and each funder's revenue-share statement for the month closed;
* the carrier's commission file arrives on the 3rd, and its money through the bank;
* every day ends with the bank's statement, imported, then the end of day
  (``yirong eod run``), which instructs the funders' payouts for the bank's morning."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import partial

from yirong.books.service import current_business_date
from yirong.credit import applications as apps
from yirong.credit.decisions import decide_by_scorecards
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.demo.bank import Party, SimulatedBank
from yirong.demo.customers import Customers
from yirong.demo.desk import record_refusals, review_days, work_the_queue
from yirong.demo.funder_offices import exchange_files
from yirong.demo.funders import FUNDERS
from yirong.demo.marketplace import Market, chosen_offer, firm_details
from yirong.demo.orders import ORDER_PRODUCT, OrderDesk, orders_evening, orders_morning
from yirong.demo.wallet_days import one_day
from yirong.demo.year import Profile, commission_file
from yirong.eod.service import run_eod
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.loans.drawdowns import LIVE_ORDER, DrawdownView, drawdowns_of, request_drawdown
from yirong.loans.repayments import owed_now, repay
from yirong.loans.reversals import reverse_repayment
from yirong.loans.standing import agent_standing
from yirong.loans.statements import revenue_share_statement
from yirong.pricing.schedule import add_months
from yirong.reconciliation.notices import record_notice
from yirong.wallets import service as wallets

FUNDER_CODES = ("F01", "F02", "F03")
# Each funder pays from its settlement account, as the bank prints it.
FUNDER_PARTIES = {
    f.code: Party(f.name.split()[0], f.settlement_bank_account, f.settlement_bank_name)
    for f, _ in FUNDERS
}
DRAW_CHANCE = 0.05  # per idle borrower per day
LATE_PAYERS = 0.15  # borrowers who let a loan fall overdue
PARTIAL_CHANCE = 0.01  # per day, a borrower repays part of a loan early
REVERSAL_DAY = 45  # the day an operator reverses a repayment made twice
REVOLVING_DAYS = (14, 30, 30, 45, 60, 90)  # working capital until the next commissions
TERM_PRODUCT, TERM_LOAN_DAYS = "TERM6", (180,)
# The days (of the lending months, from 0) of what happens once:
PARTS_DAY = 6  # the day's first order is paid in two transfers, today and tomorrow
NOTICE_ONLY_DAY = 8  # a funder says it paid the day's first order; no money ever comes
TWO_IN_ONE_DAY = 12  # a funder pays two orders in one transfer
OVERLAP_DAY = 16  # the bank's export spans two days: yesterday's lines again
REVIEW_DAY = 20  # the bank holds a withdrawal in review for days, then pays it
REVIEW_DAYS = 5
UNKNOWN_FEN = 1_288_000  # the 10th's payment quoting nothing known (over the desk's
# maker-checker threshold: a second operator approves its return)
CREDITED = ("credited", "overdue", "repaid")


@dataclass
class Loan:
    order_ref: str
    amount: int
    term_days: int
    credited_on: date | None = None
    due: date | None = None
    repay_on: date | None = None  # when the borrower means to settle it
    late: bool = False  # it will fall overdue
    instalments: bool = False  # a term loan: paid by its instalments
    missed: int | None = None  # the instalment a late payer lets fall overdue
    catch_up_on: date | None = None  # when it pays the overdue instalment


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
    """A funder's transfer, as it will reach the bank."""

    on: date
    funder: str
    references: tuple[str, ...]  # what the funder quotes
    amount: int
    notice: int | None = None  # the amount its notice says it paid, sent with the money


@dataclass
class Planned:
    """A repayment the borrower makes once the day's statement has credited its top-up."""

    borrower: Borrower
    amount: int | None  # None: everything owed
    key: str


@dataclass
class Lending:
    market: Market
    profile: Profile
    bank: SimulatedBank
    customers: Customers
    borrowers: dict[str, Borrower] = field(default_factory=dict)
    arrivals: list[Arrival] = field(default_factory=list)
    planned: list[Planned] = field(default_factory=list)
    day_index: int = 0
    reversed_one: bool = False
    once: set[str] = field(default_factory=set)  # what happens once, done
    orders: OrderDesk = field(default_factory=OrderDesk)  # the second product's story

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

    def first_time(self, what: str, on_day: int) -> bool:
        if self.day_index < on_day or what in self.once:
            return False
        self.once.add(what)
        return True


def play_lending(
    lending: Lending, codes: list[str], days: int, advance: Callable[[], None]
) -> None:
    """``days`` business days of lending, each closed by the bank's statement and the
    end of day."""
    db, bank, result = lending.market.db, lending.bank, lending.market.result
    _enrol_borrowers(lending, current_business_date(db))
    risk_frozen: list[str] = []
    for n in range(days):
        today = current_business_date(db)
        lending.day_index = n
        # The morning: the bank runs yesterday's payments; the desk works the queue.
        record_refusals(db, bank, bank.run_payment_file(today), result.counts)
        work_the_queue(db, lending.customers, result.counts)
        review_days(db, result.counts)
        if n > 0:  # the funders compare yesterday's loan books with theirs
            exchange_files(db, today - timedelta(days=1), n - 1, result.counts)
        if today.day == 1 and n > 0:
            _month_start(lending, today)
        if today.day == 3:
            month = add_months(today.replace(day=1), -1)
            index = lending.rnd.randint(0, 11)  # this year's shape: like some month of last
            paid = commission_file(db, bank, lending.rnd, codes, lending.profile, month, index)
            lending.count("commission_files")
            lending.count("commission_fen", sum(paid.values()))
        orders_morning(lending, lending.orders, today)
        _plan_repayments(lending, today)
        _drawdowns(lending, today)
        _funds_arrive(lending, today)
        one_day(lending.customers, lending.rnd, codes, today, risk_frozen, result, share=60)
        if n == OVERLAP_DAY:
            bank.overlap_next_statement()
        if n == REVIEW_DAY:
            bank.review_next_withdrawal(REVIEW_DAYS)
        # The evening: the day's statement is imported, then the end of day.
        bank.close_day(today)
        _after_statement(lending, today)
        orders_evening(lending, lending.orders)
        report = run_eod(db)
        lending.count("eod_runs")
        lending.count("orders_expired", report.done["expire"]["orders"])
        advance()


# ---------------------------------------------------------------- lines


def _enrol_borrowers(lending: Lending, today: date) -> None:
    """Every agent with an active line the demo does not know yet."""
    for line in apps.lines(lending.market.db):
        if line.agent_code in lending.borrowers or line.product_code == ORDER_PRODUCT.code:
            continue  # known, or an order facility (its own story: demo.orders)
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
        offers = [o for o in compare_offers(db, code) if o.product_code != ORDER_PRODUCT.code]
        if not offers:
            continue
        details = firm_details(db, code)
        offer = chosen_offer(lending.rnd, offers)
        apply = partial(apps.apply_for_credit, db, code, offer.id, details, market.consent(today))
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
        _funder_sends(lending, b.funder, order.order_ref, amount, today)


def _funder_sends(lending: Lending, funder: str, reference: str, amount: int, today: date) -> None:
    """How the funder's money comes: the same day, the next, short, late or never; with
    its notice when it pays in full (its back office sends none for the others)."""
    later = lending.arrivals.append
    if lending.first_time("parts", PARTS_DAY):
        half = amount // 2 // 100 * 100
        later(Arrival(today, funder, (reference,), half, notice=amount))
        later(Arrival(today + timedelta(days=1), funder, (reference,), amount - half))
        return
    if lending.first_time("notice_only", NOTICE_ONLY_DAY):
        _notice(lending, funder, reference, amount)
        return
    roll = lending.rnd.random()
    if roll < 0.82:
        later(Arrival(today, funder, (reference,), amount, notice=amount))
    elif roll < 0.93:
        later(Arrival(today + timedelta(days=1), funder, (reference,), amount, notice=amount))
    elif roll < 0.95:
        later(Arrival(today, funder, (reference,), amount - 10_000))  # short
    elif roll < 0.97:
        later(Arrival(today + timedelta(days=3), funder, (reference,), amount))  # late
    # else: never sent; the end of day expires the order and frees the line


def _funds_arrive(lending: Lending, today: date) -> None:
    """The day's transfers from the funders reach the bank."""
    rnd = lending.rnd
    due = [a for a in lending.arrivals if a.on <= today]
    lending.arrivals = [a for a in lending.arrivals if a.on > today]
    for a in due:
        if a.notice is not None:
            for reference in a.references:
                _notice(lending, a.funder, reference, a.notice)
    if today.day == 10:  # a payment quoting no order we know, and one paid twice
        unknown = Arrival(today, rnd.choice(FUNDER_CODES), (f"INV-{today:%m%d}",), UNKNOWN_FEN)
        due.append(unknown)
        paid = [a for a in due if a.notice == a.amount]
        if paid:
            due.append(replace(paid[0], notice=None))
    if lending.day_index >= TWO_IN_ONE_DAY and "two_in_one" not in lending.once:
        due = _two_in_one(lending, due)
    for a in due:
        lending.bank.pay_in(
            today,
            a.amount,
            FUNDER_PARTIES[a.funder],
            memo=f"放款 {' '.join(a.references)}",
            reference=_their_ref(a.funder, a.references[0]),
        )


def _two_in_one(lending: Lending, due: list[Arrival]) -> list[Arrival]:
    """A funder pays two of its orders in one transfer, quoting both."""
    for funder in FUNDER_CODES:
        full = [a for a in due if a.funder == funder and a.notice == a.amount]
        if len(full) >= 2:
            one, two = full[:2]
            lending.once.add("two_in_one")
            joined = Arrival(
                one.on, funder, one.references + two.references, one.amount + two.amount
            )
            return [a for a in due if a is not one and a is not two] + [joined]
    return due


def _their_ref(funder: str, reference: str) -> str:
    """The funder's own number for its transfer, on its notice and the bank's line."""
    return f"{funder}P{reference[-10:]}"


def _notice(lending: Lending, funder: str, reference: str, amount: int) -> None:
    """The funder's word that it paid (``POST /fundings``): recorded, moves nothing."""
    record_notice(
        lending.market.db,
        kind="funding",
        recorded_by=f"funder:{funder}",
        key=f"paid:{reference}",
        target=reference,
        amount=amount,
        their_ref=_their_ref(funder, reference),
        funder=funder,
    )
    lending.count("funding_notices")


# ---------------------------------------------------------------- after the statement


def _after_statement(lending: Lending, today: date) -> None:
    """The statement is in: loans the bank's lines funded are spent, repayments the
    top-ups were for are made, and loans swept clean are settled."""
    db = lending.market.db
    for b in lending.borrowers.values():
        if b.loan is not None and b.loan.credited_on is None:
            order = _order(db, b.code, b.loan.order_ref)
            if order.status in CREDITED:
                _credited(lending, b, order)
            elif order.status not in LIVE_ORDER:  # expired (short, late or never paid)
                b.loan, b.rest_until = None, today + timedelta(days=5)
    for planned in lending.planned:
        _repay(lending, planned, today)
    lending.planned = []
    for b in lending.borrowers.values():
        loan = b.loan
        if loan is None or loan.due is None or today <= loan.due:
            continue
        # Only overdue debt is swept, and only after the due date.
        if not owed_now(db, b.code):
            _settled(lending, b, today)


def _order(db: Database, code: str, reference: str) -> DrawdownView:
    return next(d for d in drawdowns_of(db, code) if d.order_ref == reference)


def _credited(lending: Lending, b: Borrower, order: DrawdownView) -> None:
    """The money is in the wallet: most of it buys the carrier's stock at once."""
    rnd = lending.rnd
    loan = b.loan
    assert loan is not None and order.credited_on is not None and order.due_date is not None
    loan.credited_on, loan.due = order.credited_on, order.due_date
    lending.count("loans_credited_seen")
    loan.late = b.late_payer and rnd.random() < 0.6
    if order.method != "bullet":
        loan.instalments = True
        # The first such loan misses its first instalment, whoever borrows it: the
        # story of a missed instalment is told in every run, however short.
        if lending.first_time("missed_instalment", 0):
            loan.late, loan.missed = True, 1
        else:
            loan.missed = rnd.choice((1, 2)) if loan.late else None
    elif loan.late:
        loan.repay_on = loan.due + timedelta(days=rnd.randint(6, 70))  # overdue first
    else:
        loan.repay_on = loan.due - timedelta(days=rnd.randint(0, 5))
    spend = int(loan.amount * rnd.uniform(0.6, 0.95))
    db = lending.market.db
    # (A wallet frozen by risk control in the meantime cannot spend: refused, counted.)
    if lending.attempt(partial(wallets.pay_carrier, db, b.code, spend, f"stock:{loan.order_ref}")):
        lending.count("carrier_prepayments")


# ---------------------------------------------------------------- repayments


def _plan_repayments(lending: Lending, today: date) -> None:
    """Borrowers who mean to repay today top up through the bank what the wallet lacks;
    they press repay once the evening's statement has credited it."""
    db, rnd = lending.market.db, lending.rnd
    for b in lending.borrowers.values():
        loan = b.loan
        if loan is not None and loan.instalments:
            _instalment_day(lending, b, loan, today)
            continue
        if loan is None or loan.credited_on is None or loan.repay_on is None:
            continue
        assert loan.due is not None
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
            if owed:
                key = f"settle:{loan.order_ref}:{today}"
                _top_up_for(lending, b, owed, today)
                lending.planned.append(Planned(b, None, key))
        elif today < loan.due and rnd.random() < PARTIAL_CHANCE:
            owed = sum(o.total for o in owed_now(db, b.code))
            part = min(owed - 1, int(loan.amount * rnd.uniform(0.1, 0.4)))
            if part > 0:
                _top_up_for(lending, b, part, today)
                lending.planned.append(Planned(b, part, f"part:{loan.order_ref}:{today}"))


def _instalment_day(lending: Lending, b: Borrower, loan: Loan, today: date) -> None:
    """A term loan is paid by its instalments: on a due date the borrower tops up what
    the wallet lacks and repays what fell due. A late payer misses one: it puts
    everything into stock that day (nothing is left to sweep), the loan falls overdue
    and the wallet is frozen; days later it tops up all that is owed, penalty and
    compound interest included, and the credit is swept: current again, unfrozen."""
    db = lending.market.db
    now = next((x for x in agent_standing(db, b.code).loans if x.order_ref == loan.order_ref), None)
    if now is None:  # not credited yet, or repaid
        return
    if now.status == "overdue":
        if loan.catch_up_on is None:
            loan.catch_up_on = today + timedelta(days=lending.rnd.randint(3, 12))
        elif today >= loan.catch_up_on:
            lending.customers.top_up(today, b.code, now.due.total)
            lending.count("instalment_catch_ups")
            loan.missed = loan.catch_up_on = None
        return
    if now.due_date != today or now.due.total == 0:
        return
    n = next(k.n for k in _order(db, b.code, loan.order_ref).instalments if k.due_date == today)
    if n == loan.missed:
        available = wallets.wallet(db, b.code).available
        if available > 0 and lending.attempt(
            partial(wallets.pay_carrier, db, b.code, available, f"all-in:{loan.order_ref}:{n}")
        ):
            lending.count("carrier_prepayments")
        return
    _top_up_for(lending, b, now.due.total, today)
    lending.planned.append(Planned(b, now.due.total, f"instalment:{loan.order_ref}:{n}"))


def _top_up_for(lending: Lending, b: Borrower, amount: int, today: date) -> None:
    short = amount - wallets.wallet(lending.market.db, b.code).available
    if short > 0:
        lending.customers.top_up(today, b.code, short)
        lending.count("top_ups_to_repay")


def _repay(lending: Lending, planned: Planned, today: date) -> None:
    db, b = lending.market.db, planned.borrower
    loan = b.loan
    if loan is None:
        return
    if planned.amount is not None:
        if lending.attempt(partial(repay, db, b.code, planned.amount, planned.key)):
            lending.count("instalments_paid" if loan.instalments else "repayments_partial")
        return
    if owed_now(db, b.code):  # a top-up into an overdue wallet repays by itself
        try:
            made = repay(db, b.code, None, planned.key)
        except YirongError as exc:  # the wallet was spent meanwhile: again tomorrow
            lending.market.result.refusals[exc.code] += 1
            loan.repay_on = today + timedelta(days=1)
            return
        lending.count("repayments_asked")
        if lending.day_index >= REVERSAL_DAY and not lending.reversed_one:
            _reverse_by_mistake(lending, b, made.id, today)
            return
    _settled(lending, b, today)


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
