"""What a bank line is for: pure decisions over facts already loaded. No I/O.

The service reads the facts a chunk of lines needs (the orders, files, payments and
wallets their references name; the open notices), asks :func:`decide` line by line,
applies each decision and updates the facts before the next line (two lines of one
statement paying the same order: the second is a duplicate). The matching rules are
data (:class:`Rule`), read from the ``match_rules`` table."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from yirong.bankfiles.model import Direction
from yirong.loans import model as loan


class ExceptionKind(StrEnum):
    """Why a line or a notice needs a person (each is one listed, owned exception)."""

    UNKNOWN = "unknown"  # unknown sender, or a reference to nothing we know
    SHORT = "short"  # less than the order, file or payment
    OVER = "over"  # more than it
    DUPLICATE = "duplicate"  # for something already paid
    LATE = "late"  # for an order that expired, was rejected or cancelled
    PROPOSED = "proposed"  # a rule proposes a match; an operator confirms it
    UNORDERED_DEBIT = "unordered_debit"  # the bank paid out what we never instructed
    NOTICE_UNFUNDED = "notice_unfunded"  # someone said they paid; the bank shows nothing
    PAYMENT_NOT_DEBITED = "payment_not_debited"  # we instructed; the bank shows nothing
    ACCOUNT_CLOSED = "account_closed"  # for a wallet that cannot take money (closed, blocked)


class Target(StrEnum):
    ORDER = "order"  # a drawdown's order (YR...)
    WALLET = "wallet"  # a wallet's top-up (pay-in code or virtual account)
    COMMISSION = "commission"  # a carrier's commission file (YC...)
    PAYMENT = "payment"  # one of our outbound payments (YP...)
    REFUND = "refund"  # a supplier's refund quoting our payout to it (订单融资)


class Outcome(StrEnum):
    MATCHED = "matched"  # post it now
    PARTIAL = "partial"  # part of an order paid in several lines: wait for the rest
    EXCEPTION = "exception"


# ---------------------------------------------------------------- references

ORDER_REF = re.compile(r"YR\d{18}")
COMMISSION_REF = re.compile(r"YC\d{8,}")
PAYMENT_REF = re.compile(r"YP\d{12}")
PAY_IN_REF = re.compile(r"YT\d{9,}")


@dataclass(frozen=True, slots=True)
class References:
    """The references a line quotes, in its memo or its end-to-end reference, each
    kind in the order written, without repeats."""

    orders: tuple[str, ...] = ()
    commissions: tuple[str, ...] = ()
    payments: tuple[str, ...] = ()
    pay_ins: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.orders or self.commissions or self.payments or self.pay_ins)


def references(*texts: str) -> References:
    joined = " ".join(texts).upper()

    def found(pattern: re.Pattern[str]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(pattern.findall(joined)))

    return References(
        found(ORDER_REF), found(COMMISSION_REF), found(PAYMENT_REF), found(PAY_IN_REF)
    )


# ---------------------------------------------------------------- facts


@dataclass(frozen=True, slots=True)
class Line:
    id: int
    direction: Direction
    amount: int
    booking_date: date
    counterparty_account: str
    refs: References
    wallet_id: int | None = None  # named by a virtual account or a valid pay-in code


@dataclass(slots=True)
class OrderFacts:
    ref: str
    funder: str
    amount: int
    status: str  # requested (live) | funded | credited | overdue | repaid | expired ...
    fund_by: date
    paid_in_parts: int = 0  # what partial lines have brought so far


# An order still waiting for money; one that money already came for (a second payment
# for it is a duplicate, not a late one).
LIVE_ORDER = frozenset(loan.ORDER)
PAID = frozenset({*loan.OUTSTANDING, loan.DrawdownStatus.REPAID})


@dataclass(slots=True)
class FileFacts:
    ref: str
    total: int
    state: str  # awaiting_funds | applied
    blocked: bool = False  # a wallet of the file cannot take money


@dataclass(slots=True)
class PaymentFacts:
    ref: str
    amount: int
    status: str  # instructed | settled | returned | failed
    payee_account: str | None
    instructed_on: date
    kind: str = "withdrawal"
    # A settled payout to a supplier: what it may still refund (paid less refunded).
    refundable: int = 0


@dataclass(frozen=True, slots=True)
class NoticeFacts:
    id: int
    kind: str  # funding | top_up
    party: str  # funder:F01 | operator:<user>
    target: str  # an order ref, or a wallet handle
    amount: int
    value_date: date


@dataclass(frozen=True, slots=True)
class Rule:
    """One matching rule, as the operator configured it."""

    name: str
    enabled: bool = True
    auto: bool = True  # post at once; otherwise propose to an operator
    amount_tolerance: int = 0  # fen either way
    days_before: int = 0  # how far the bank's date may precede the other side's
    days_after: int = 0  # ... or follow it

    def amount_fits(self, expected: int, found: int) -> bool:
        return abs(expected - found) <= self.amount_tolerance

    def date_fits(self, said: date, booked: date) -> bool:
        return (
            said - timedelta(days=self.days_before)
            <= booked
            <= said + timedelta(days=self.days_after)
        )


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("order_reference"),  # a line quoting one order pays it, exactly
    Rule("orders_in_one_line"),  # a line quoting several orders pays their sum
    Rule("order_in_parts", days_after=1),  # several lines quoting one order add up to it
    Rule("commission_reference"),  # the carrier pays a commission file's total
    Rule("pay_in"),  # a virtual account or YT code names the wallet
    Rule("payment_reference"),  # our YP reference: the bank paid (or returned) it
    Rule("payment_by_payee", days_after=5),  # no reference: the one open payment to that payee
    Rule("funding_notice", auto=False, days_before=1, days_after=3),  # a funder's word
    Rule("top_up_notice", auto=False, days_before=1, days_after=3),  # an operator's word
    Rule("notice_wait", days_after=3),  # a notice with no money after this: an exception
    Rule("payment_wait", days_after=3),  # a payment the bank has not debited after this
)


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    rule: str = ""
    target: Target | None = None
    refs: tuple[str, ...] = ()  # what it pays: orders, a file, a payment; a wallet id as text
    exception: ExceptionKind | None = None
    proposal: str | None = None  # "<target>:<ref>" an operator may confirm
    detail: str = ""
    returned: bool = False  # a credit quoting our payment: the bank sent it back
    notice_id: int | None = None  # the notice a proposal comes from


@dataclass
class Facts:
    """Everything the lines of one chunk may be matched against, keyed by reference."""

    orders: dict[str, OrderFacts] = field(default_factory=dict)
    files: dict[str, FileFacts] = field(default_factory=dict)
    payments: dict[str, PaymentFacts] = field(default_factory=dict)
    wallets: dict[int, bool] = field(default_factory=dict)  # wallet id -> can take money
    senders: dict[str, str] = field(default_factory=dict)  # bank account -> funder code
    notices: list[NoticeFacts] = field(default_factory=list)
    open_payments_by_payee: dict[str, list[PaymentFacts]] = field(default_factory=dict)


def _exception(
    kind: ExceptionKind,
    detail: str,
    *,
    refs: tuple[str, ...] = (),
    proposal: str | None = None,
    notice_id: int | None = None,
) -> Decision:
    return Decision(
        Outcome.EXCEPTION,
        exception=kind,
        detail=detail,
        refs=refs,
        proposal=proposal,
        notice_id=notice_id,
    )


# ---------------------------------------------------------------- deciding


def decide(line: Line, facts: Facts, rules: Mapping[str, Rule], today: date) -> Decision:
    """What ``line`` is for. Credits are checked against what quotes them (orders,
    files, our payments coming back, wallets), then against notices; debits against
    our payments. A reference to something we know is never second-guessed by a
    notice: a line that quotes an order and does not fit it is an exception."""
    if line.direction is Direction.DEBIT:
        return _debit(line, facts, rules)
    sender = facts.senders.get(line.counterparty_account)
    if line.refs.orders and _on(rules, "order_reference"):
        return _orders(line, facts, rules, sender, today)
    if line.refs.commissions and _on(rules, "commission_reference"):
        return _commission(line, facts)
    if line.refs.payments and _on(rules, "payment_reference"):
        return _returned(line, facts)
    if line.wallet_id is not None and _on(rules, "pay_in"):
        takes = facts.wallets.get(line.wallet_id)
        if takes is None:
            return _exception(ExceptionKind.UNKNOWN, "The pay-in code names no wallet.")
        if not takes:
            return _exception(ExceptionKind.ACCOUNT_CLOSED, "The wallet is closed or blocked.")
        return Decision(Outcome.MATCHED, "pay_in", Target.WALLET, (str(line.wallet_id),))
    return _by_notice(line, facts, rules, sender)


def _on(rules: Mapping[str, Rule], name: str) -> bool:
    rule = rules.get(name)
    return rule is not None and rule.enabled


def _orders(
    line: Line, facts: Facts, rules: Mapping[str, Rule], sender: str | None, today: date
) -> Decision:
    orders = [facts.orders.get(ref) for ref in line.refs.orders]
    known = [o for o in orders if o is not None]
    if len(known) != len(orders):
        missing = [r for r, o in zip(line.refs.orders, orders, strict=True) if o is None]
        return _exception(ExceptionKind.UNKNOWN, f"No order {', '.join(missing)}.")
    foreign = [o.ref for o in known if sender is not None and o.funder != sender]
    if foreign:
        return _exception(
            ExceptionKind.UNKNOWN,
            f"Paid from {sender}'s account for another funder's order {', '.join(foreign)}.",
        )
    for o in known:
        if o.status not in LIVE_ORDER:
            paid = o.status in PAID
            kind = ExceptionKind.DUPLICATE if paid else ExceptionKind.LATE
            return _exception(kind, f"Order {o.ref} is {o.status}.", refs=(o.ref,))
        if o.fund_by < today:
            return _exception(
                ExceptionKind.LATE, f"Order {o.ref} had to be funded by {o.fund_by}.", refs=(o.ref,)
            )
    if len(known) > 1:
        if not _on(rules, "orders_in_one_line"):
            return _exception(ExceptionKind.UNKNOWN, "The line quotes several orders.")
        return _sum_fits(line, known, "orders_in_one_line")
    order = known[0]
    due = order.amount - order.paid_in_parts
    if line.amount == due:
        rule = "order_in_parts" if order.paid_in_parts else "order_reference"
        return Decision(Outcome.MATCHED, rule, Target.ORDER, (order.ref,))
    if line.amount < due and _on(rules, "order_in_parts"):
        return Decision(Outcome.PARTIAL, "order_in_parts", Target.ORDER, (order.ref,))
    kind = ExceptionKind.SHORT if line.amount < due else ExceptionKind.OVER
    return _exception(
        kind,
        f"Order {order.ref} wants {due} fen; the line brings {line.amount}.",
        refs=(order.ref,),
    )


def _sum_fits(line: Line, orders: Sequence[OrderFacts], rule: str) -> Decision:
    due = sum(o.amount - o.paid_in_parts for o in orders)
    refs = tuple(o.ref for o in orders)
    if line.amount == due:
        return Decision(Outcome.MATCHED, rule, Target.ORDER, refs)
    kind = ExceptionKind.SHORT if line.amount < due else ExceptionKind.OVER
    return _exception(
        kind, f"The orders want {due} fen together; the line brings {line.amount}.", refs=refs
    )


def _commission(line: Line, facts: Facts) -> Decision:
    ref = line.refs.commissions[0]
    found = facts.files.get(ref)
    if found is None or len(line.refs.commissions) > 1:
        return _exception(ExceptionKind.UNKNOWN, f"No single commission file {ref}.")
    if found.state == "applied":
        return _exception(ExceptionKind.DUPLICATE, f"Commission file {ref} was paid already.")
    if line.amount != found.total:
        kind = ExceptionKind.SHORT if line.amount < found.total else ExceptionKind.OVER
        return _exception(kind, f"File {ref} totals {found.total} fen; the line {line.amount}.")
    if found.blocked:
        return _exception(
            ExceptionKind.ACCOUNT_CLOSED, f"A wallet of file {ref} is closed or blocked."
        )
    return Decision(Outcome.MATCHED, "commission_reference", Target.COMMISSION, (ref,))


def _returned(line: Line, facts: Facts) -> Decision:
    """A credit quoting one of our payments: the bank sent it back (退汇); or, for a
    payout to a supplier the bank has paid, the supplier's refund (a return of goods,
    a short delivery), up to what it was paid."""
    ref = line.refs.payments[0]
    found = facts.payments.get(ref)
    if found is None:
        return _exception(ExceptionKind.UNKNOWN, f"No payment {ref}.")
    if found.kind == "supplier" and found.status == "settled":
        if line.amount > found.refundable:
            return _exception(
                ExceptionKind.OVER,
                f"Payout {ref} can take back at most {found.refundable} fen; the line "
                f"brings {line.amount}.",
                refs=(ref,),
            )
        return Decision(Outcome.MATCHED, "payment_reference", Target.REFUND, (ref,))
    if found.status not in ("instructed", "settled") or line.amount != found.amount:
        return _exception(
            ExceptionKind.UNKNOWN,
            f"Payment {ref} ({found.status}, {found.amount} fen) cannot come back as "
            f"{line.amount} fen.",
        )
    return Decision(Outcome.MATCHED, "payment_reference", Target.PAYMENT, (ref,), returned=True)


def _by_notice(line: Line, facts: Facts, rules: Mapping[str, Rule], sender: str | None) -> Decision:
    """No reference: what someone told us may explain it, as a proposal an operator
    confirms (or at once, where the operator set the rule to ``auto``)."""
    candidates: list[tuple[Rule, NoticeFacts]] = []
    for notice in facts.notices:
        rule = rules.get("funding_notice" if notice.kind == "funding" else "top_up_notice")
        if rule is None or not rule.enabled:
            continue
        if notice.kind == "funding" and notice.party != f"funder:{sender}":
            continue
        if rule.amount_fits(notice.amount, line.amount) and rule.date_fits(
            notice.value_date, line.booking_date
        ):
            candidates.append((rule, notice))
    if len(candidates) == 1:
        rule, notice = candidates[0]
        target = Target.ORDER if notice.kind == "funding" else Target.WALLET
        proposal = f"{target.value}:{notice.target}"
        if rule.auto and notice.amount == line.amount:
            return Decision(Outcome.MATCHED, rule.name, target, (notice.target,))
        return _exception(
            ExceptionKind.PROPOSED,
            f"Notice {notice.id} from {notice.party} says {notice.amount} fen for "
            f"{notice.target} on {notice.value_date}.",
            proposal=proposal,
            notice_id=notice.id,
        )
    if candidates:
        return _exception(
            ExceptionKind.UNKNOWN,
            f"{len(candidates)} notices fit this line; an operator chooses.",
        )
    who = f"from {sender}" if sender else "from an unknown sender"
    return _exception(ExceptionKind.UNKNOWN, f"Money {who} quoting nothing we know.")


def _debit(line: Line, facts: Facts, rules: Mapping[str, Rule]) -> Decision:
    if line.refs.payments and _on(rules, "payment_reference"):
        ref = line.refs.payments[0]
        found = facts.payments.get(ref)
        if found is None:
            return _exception(ExceptionKind.UNORDERED_DEBIT, f"No payment {ref}.")
        if found.status == "settled":
            return _exception(ExceptionKind.DUPLICATE, f"Payment {ref} was debited already.")
        if found.status != "instructed":
            return _exception(
                ExceptionKind.UNORDERED_DEBIT, f"Payment {ref} was {found.status}.", refs=(ref,)
            )
        if line.amount != found.amount:
            kind = ExceptionKind.SHORT if line.amount < found.amount else ExceptionKind.OVER
            return _exception(
                kind, f"Payment {ref} is {found.amount} fen; the bank paid {line.amount}."
            )
        return Decision(Outcome.MATCHED, "payment_reference", Target.PAYMENT, (ref,))
    rule = rules.get("payment_by_payee")
    if rule is not None and rule.enabled and line.counterparty_account:
        fits = [
            p
            for p in facts.open_payments_by_payee.get(line.counterparty_account, [])
            if p.status == "instructed"
            and rule.amount_fits(p.amount, line.amount)
            and rule.date_fits(p.instructed_on, line.booking_date)
        ]
        if len(fits) == 1 and fits[0].amount == line.amount:
            if rule.auto:
                return Decision(Outcome.MATCHED, rule.name, Target.PAYMENT, (fits[0].ref,))
            return _exception(
                ExceptionKind.PROPOSED,
                f"Payment {fits[0].ref} to this payee is open.",
                proposal=f"payment:{fits[0].ref}",
            )
    return _exception(ExceptionKind.UNORDERED_DEBIT, "A debit quoting none of our payments.")
