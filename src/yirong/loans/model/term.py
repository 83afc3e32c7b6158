"""A term loan (等额本息, 等额本金, 先息后本) as its contract enforces it: the
instalments the borrower was shown before borrowing fall due on their dates, each
on its own. Pure: no I/O, no clock; every figure integer fen.

The rules, per product (``Rules``):

* **Instalments** come from ``pricing.schedule.build_schedule`` started on the day
  the money was credited: the very code that showed the schedule before borrowing.
  Instalment k's principal and interest are owed from its due date.
* **Overdue.** An instalment unpaid at the end of its due date plus the grace days
  (宽限期) is overdue; the loan's days past due count from its oldest unpaid
  instalment's due date. Paying all that fell due (its penalty too) brings the loan
  current.
* **Penalty (罚息)** runs on an overdue instalment's unpaid principal, and, when the
  product compounds, **compound interest (复利)** on its unpaid interest, both at the
  penalty rate, from the first day after the grace (paid within the grace, neither is
  charged). As for a revolving loan's clock, a day counts when it has ended (the day of
  a repayment is charged on what is left after it) and each is the integral of the
  amount over the days in fen-days, times the rate over the day basis, rounded
  half-up once, cumulatively: nothing lost or invented however it is paid.
* **Repaying.** Any amount up to what is due now, split in the product's order
  (``penalty`` covers penalty then compound interest), each component over the
  instalments oldest first; or everything at once (提前还款): what is due, the
  principal not yet due, and the running period's interest to the day (on the
  principal outstanding, from the last due date, at the contract rate over the day
  basis, at most that instalment's scheduled interest); later periods' interest is
  not charged. An amount in between is refused (``term_prepayment_partial``): a term
  loan is repaid by its instalments or all at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from yirong.errors import YirongError
from yirong.loans.allocation import DEFAULT_ORDER, Owed, allocate
from yirong.loans.interest import charged
from yirong.pricing.schedule import Method, build_schedule


@dataclass(frozen=True, slots=True)
class Rules:
    """The product's terms that decide what a term loan owes."""

    annual_rate_ppm: int
    penalty_rate_ppm: int
    day_basis: int
    grace_days: int = 0
    compounds: bool = True  # unpaid overdue interest bears interest at the penalty rate
    order: tuple[str, ...] = DEFAULT_ORDER


@dataclass(frozen=True, slots=True)
class Instalment:
    n: int
    due: date
    principal: int
    interest: int  # the scheduled interest of its period


@dataclass(frozen=True, slots=True)
class Owing:
    """What one instalment owes on a day (principal and interest once due)."""

    n: int
    due: date
    principal: int
    interest: int
    penalty: int
    compound: int

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.penalty + self.compound


@dataclass(frozen=True, slots=True)
class Position:
    """A term loan on a day: each instalment's debt, what is due now, the payoff."""

    on: date
    owing: tuple[Owing, ...]
    days_past_due: int  # from the oldest unpaid instalment's due date; 0 when current
    overdue: bool  # an instalment is unpaid past its grace
    due_now: int
    running_interest: int  # the period in course, to the day (in the payoff only)
    payoff: int  # everything, settled today

    def __post_init__(self) -> None:
        assert self.due_now == sum(o.total for o in self.owing)


@dataclass(frozen=True, slots=True)
class Part:
    """The share of one repayment that went to one instalment."""

    n: int
    penalty: int = 0
    compound: int = 0
    interest: int = 0
    principal: int = 0

    @property
    def total(self) -> int:
        return self.penalty + self.compound + self.interest + self.principal


@dataclass(frozen=True, slots=True)
class _Ledger:
    """One instalment's payments and late fen-days so far."""

    principal_paid: int = 0
    interest_paid: int = 0
    penalty_paid: int = 0
    compound_paid: int = 0
    penalty_fen_days: int = 0  # overdue principal x days
    compound_fen_days: int = 0  # overdue interest x days


def instalments(
    principal: int,
    annual_rate: Decimal,
    method: Method,
    credited_on: date,
    periods: int,
    day_basis: int,
) -> tuple[Instalment, ...]:
    """The schedule shown before borrowing, as it will be enforced."""
    if method is Method.BULLET:
        raise ValueError("a bullet loan runs on its interest clock, not on instalments")
    schedule = build_schedule(
        principal, annual_rate, method, credited_on, periods=periods, day_basis=day_basis
    )
    return tuple(
        Instalment(r.n, r.due_date, r.principal, r.interest) for r in schedule.installments
    )


@dataclass(frozen=True, slots=True)
class TermLoan:
    """A term loan's state: its schedule and what each instalment has paid and
    accrued up to ``since`` (a day ordinal: days before it are counted)."""

    rules: Rules
    credited_on: date
    schedule: tuple[Instalment, ...]
    ledgers: tuple[_Ledger, ...]
    since: int
    settled: bool = False  # repaid all at once: later periods' interest never charged

    @classmethod
    def start(cls, rules: Rules, credited_on: date, schedule: Sequence[Instalment]) -> TermLoan:
        return cls(
            rules,
            credited_on,
            tuple(schedule),
            tuple(_Ledger() for _ in schedule),
            credited_on.toordinal(),
        )

    @classmethod
    def replayed(
        cls,
        rules: Rules,
        credited_on: date,
        schedule: Sequence[Instalment],
        repayments: Sequence[tuple[date, int]],
    ) -> TermLoan:
        """The loan after ``repayments`` (day, amount; in the order made): its state
        is its schedule and what was paid, so a reversed repayment is one left out."""
        loan = cls.start(rules, credited_on, schedule)
        for day, amount in repayments:
            loan, _ = loan.repay(day, amount)
        return loan

    @property
    def principal_left(self) -> int:
        """The principal not yet repaid, fallen due or not."""
        return sum(k.principal for k in self.schedule) - sum(
            led.principal_paid for led in self.ledgers
        )

    # ------------------------------------------------------------ accrual

    def _late_from(self, k: Instalment) -> int:
        """The first day (ordinal) penalty and compound interest run for ``k``."""
        return k.due.toordinal() + self.rules.grace_days + 1

    def accrued_to(self, day: date) -> TermLoan:
        """The state with late fen-days counted for every day before ``day``."""
        d = day.toordinal()
        if d < self.since:
            raise ValueError(f"the loan is counted to {date.fromordinal(self.since)}; not {day}")
        if self.settled:
            return replace(self, since=d)
        ledgers = []
        for k, led in zip(self.schedule, self.ledgers, strict=True):
            days = max(0, d - max(self.since, self._late_from(k)))
            late_interest = k.interest - led.interest_paid if self.rules.compounds else 0
            ledgers.append(
                replace(
                    led,
                    penalty_fen_days=led.penalty_fen_days
                    + (k.principal - led.principal_paid) * days,
                    compound_fen_days=led.compound_fen_days + late_interest * days,
                )
            )
        return replace(self, ledgers=tuple(ledgers), since=d)

    # ------------------------------------------------------------ reading

    def position(self, day: date) -> Position:
        """What the loan owes on ``day``, before any repayment that day."""
        now = self.accrued_to(day)
        rate, basis = now.rules.penalty_rate_ppm, now.rules.day_basis
        owing = []
        oldest_late: date | None = None
        overdue = False
        for k, led in zip(now.schedule, now.ledgers, strict=True):
            due = k.due <= day and not now.settled
            owes = Owing(
                k.n,
                k.due,
                k.principal - led.principal_paid if due else 0,
                k.interest - led.interest_paid if due else 0,
                charged(led.penalty_fen_days, rate, basis) - led.penalty_paid,
                charged(led.compound_fen_days, rate, basis) - led.compound_paid,
            )
            if owes.total:  # current again only when all that fell due is paid
                if k.due < day and oldest_late is None:
                    oldest_late = k.due
                overdue = overdue or day.toordinal() >= now._late_from(k)
            owing.append(owes)
        due_now = sum(o.total for o in owing)
        running = now._running_interest(day)
        not_yet_due = sum(
            k.principal - led.principal_paid
            for k, led in zip(now.schedule, now.ledgers, strict=True)
            if k.due > day and not now.settled
        )
        return Position(
            day,
            tuple(owing),
            (day - oldest_late).days if oldest_late else 0,
            overdue,
            due_now,
            running,
            due_now + not_yet_due + running,
        )

    def late_day(self, day: date) -> date | None:
        """The first late day of the oldest instalment with anything unpaid on ``day``
        (its late charges too): the day the loan is overdue from unless paid (None:
        nothing is left to pay)."""
        position = self.position(day)
        rows = zip(self.schedule, position.owing, self.ledgers, strict=True)
        for k, owes, led in rows:
            unpaid = led.principal_paid < k.principal or led.interest_paid < k.interest
            if owes.total or (unpaid and not self.settled):
                return date.fromordinal(self._late_from(k))
        return None

    def earned(self, end: date) -> tuple[int, int]:
        """(interest, late charges) the lender has earned for the days before ``end``:
        the scheduled interest of instalments due before it (and the running interest
        a settlement paid), penalty and compound interest charged so far."""
        now = self.accrued_to(end)
        rate, basis = now.rules.penalty_rate_ppm, now.rules.day_basis
        interest = sum(
            k.interest if k.due < end and not now.settled else led.interest_paid
            for k, led in zip(now.schedule, now.ledgers, strict=True)
        )
        late = sum(
            charged(led.penalty_fen_days, rate, basis) + charged(led.compound_fen_days, rate, basis)
            for led in now.ledgers
        )
        return interest, late

    def _running(self, day: date) -> int | None:
        """The index of the instalment whose period is in course on ``day``."""
        return next((i for i, k in enumerate(self.schedule) if k.due > day), None)

    def _running_interest(self, day: date) -> int:
        i = self._running(day)
        if i is None or self.settled:
            return 0
        began = self.schedule[i - 1].due if i else self.credited_on
        days = (day - began).days
        balance = sum(
            k.principal - led.principal_paid
            for k, led in zip(self.schedule[i:], self.ledgers[i:], strict=True)
        )
        to_the_day = charged(balance * days, self.rules.annual_rate_ppm, self.rules.day_basis)
        return min(to_the_day, self.schedule[i].interest - self.ledgers[i].interest_paid)

    # ------------------------------------------------------------ repaying

    def repay(self, day: date, amount: int) -> tuple[TermLoan, tuple[Part, ...]]:
        """The loan after ``amount`` is repaid on ``day``, and how it was split."""
        if amount <= 0:
            raise YirongError("amount_zero" if amount == 0 else "amount_negative")
        now = self.accrued_to(day)
        position = now.position(day)
        if position.payoff == 0:
            raise YirongError("nothing_owed")
        if amount > position.payoff:
            raise YirongError("exceeds_owed", owed=position.payoff)
        if amount == position.payoff:
            return now._settle(position)
        if amount > position.due_now:
            raise YirongError(
                "term_prepayment_partial", due_now=position.due_now, payoff=position.payoff
            )
        return now._pay(now._split(amount, position.owing))

    def _split(self, amount: int, owing: Sequence[Owing]) -> tuple[Part, ...]:
        # The product's order over components, each over the instalments oldest first;
        # "penalty" is the late charges: penalty, then compound interest.
        shares = allocate(
            amount,
            [Owed(o.n, o.penalty + o.compound, o.interest, o.principal) for o in owing],
            self.rules.order,
        )
        by_n = {o.n: o for o in owing}
        parts = []
        for s in shares:
            penalty = min(s.penalty, by_n[s.drawdown_id].penalty)
            parts.append(Part(s.drawdown_id, penalty, s.penalty - penalty, s.interest, s.principal))
        return tuple(parts)

    def _settle(self, position: Position) -> tuple[TermLoan, tuple[Part, ...]]:
        running = self._running(position.on)
        parts = []
        for i, (k, o, led) in enumerate(
            zip(self.schedule, position.owing, self.ledgers, strict=True)
        ):
            principal = k.principal - led.principal_paid
            interest = o.interest + (position.running_interest if i == running else 0)
            part = Part(k.n, o.penalty, o.compound, interest, principal)
            if part.total:
                parts.append(part)
        return self._pay(tuple(parts), settled=True)

    def _pay(
        self, parts: tuple[Part, ...], *, settled: bool = False
    ) -> tuple[TermLoan, tuple[Part, ...]]:
        by_n = {p.n: p for p in parts}
        ledgers = []
        for k, led in zip(self.schedule, self.ledgers, strict=True):
            p = by_n.get(k.n, Part(k.n))
            ledgers.append(
                replace(
                    led,
                    principal_paid=led.principal_paid + p.principal,
                    interest_paid=led.interest_paid + p.interest,
                    penalty_paid=led.penalty_paid + p.penalty,
                    compound_paid=led.compound_paid + p.compound,
                )
            )
        return replace(self, ledgers=tuple(ledgers), settled=self.settled or settled), parts
