"""What a bank line is for: the matching rules as a specification (pure, no database)."""

from __future__ import annotations

from datetime import date

import pytest

from yirong.bankfiles.model import Direction
from yirong.reconciliation.model import (
    DEFAULT_RULES,
    Decision,
    ExceptionKind,
    Facts,
    FileFacts,
    Line,
    NoticeFacts,
    OrderFacts,
    Outcome,
    PaymentFacts,
    Rule,
    Target,
    decide,
    references,
)

TODAY = date(2026, 3, 10)
ORDER = "YR202603100000000001"
ORDER2 = "YR202603100000000002"
F01_ACCOUNT = "3301040160000001234"
RULES = {r.name: r for r in DEFAULT_RULES}


def facts(**kw: object) -> Facts:
    found = Facts(senders={F01_ACCOUNT: "F01", "6222000000000002": "F02"})
    for name, value in kw.items():
        setattr(found, name, value)
    return found


def order(
    ref: str = ORDER, amount: int = 100_000, status: str = "requested", **kw: object
) -> OrderFacts:
    return OrderFacts(ref, str(kw.get("funder", "F01")), amount, status, date(2026, 3, 11))


def credit(amount: int, memo: str = "", account: str = F01_ACCOUNT, **kw: object) -> Line:
    return Line(
        1,
        Direction.CREDIT,
        amount,
        TODAY,
        account,
        references(memo),
        kw.get("wallet_id"),  # type: ignore[arg-type]
    )


def debit(amount: int, memo: str = "", account: str = "") -> Line:
    return Line(2, Direction.DEBIT, amount, TODAY, account, references(memo))


def test_references_are_found_in_memo_and_end_to_end_reference_once_each() -> None:
    refs = references(f"放款 {ORDER} and {ORDER.lower()}", f"{ORDER2} YC00000012 YP000000000042")
    assert refs.orders == (ORDER, ORDER2)
    assert refs.commissions == ("YC00000012",)
    assert refs.payments == ("YP000000000042",)
    assert not references("INV-0310 货款").any


@pytest.mark.parametrize(
    ("amount", "status", "fund_by", "expected"),
    [
        (100_000, "requested", date(2026, 3, 11), (Outcome.MATCHED, None)),
        (100_000, "requested", date(2026, 3, 10), (Outcome.MATCHED, None)),
        (90_000, "requested", date(2026, 3, 11), (Outcome.PARTIAL, None)),
        (100_001, "requested", date(2026, 3, 11), (Outcome.EXCEPTION, ExceptionKind.OVER)),
        (100_000, "credited", date(2026, 3, 11), (Outcome.EXCEPTION, ExceptionKind.DUPLICATE)),
        (100_000, "expired", date(2026, 3, 9), (Outcome.EXCEPTION, ExceptionKind.LATE)),
        (100_000, "cancelled", date(2026, 3, 11), (Outcome.EXCEPTION, ExceptionKind.LATE)),
        (100_000, "requested", date(2026, 3, 9), (Outcome.EXCEPTION, ExceptionKind.LATE)),
    ],
)
def test_a_line_quoting_an_order(
    amount: int, status: str, fund_by: date, expected: tuple[Outcome, ExceptionKind | None]
) -> None:
    known = OrderFacts(ORDER, "F01", 100_000, status, fund_by)
    d = decide(credit(amount, f"放款 {ORDER}"), facts(orders={ORDER: known}), RULES, TODAY)
    assert (d.outcome, d.exception) == expected
    if d.outcome is not Outcome.EXCEPTION:
        assert (d.target, d.refs) == (Target.ORDER, (ORDER,))


def test_short_money_is_an_exception_when_orders_may_not_be_paid_in_parts() -> None:
    rules = {**RULES, "order_in_parts": Rule("order_in_parts", enabled=False)}
    d = decide(credit(90_000, ORDER), facts(orders={ORDER: order()}), rules, TODAY)
    assert (d.outcome, d.exception) == (Outcome.EXCEPTION, ExceptionKind.SHORT)


def test_the_last_part_of_an_order_paid_in_parts_matches_it() -> None:
    paid = OrderFacts(ORDER, "F01", 100_000, "requested", date(2026, 3, 11), paid_in_parts=60_000)
    d = decide(credit(40_000, ORDER), facts(orders={ORDER: paid}), RULES, TODAY)
    assert (d.outcome, d.rule, d.refs) == (Outcome.MATCHED, "order_in_parts", (ORDER,))
    assert decide(credit(50_000, ORDER), facts(orders={ORDER: paid}), RULES, TODAY).exception is (
        ExceptionKind.OVER
    )


def test_one_line_for_several_orders_pays_their_sum_exactly() -> None:
    orders = {ORDER: order(), ORDER2: order(ORDER2, 50_000)}
    d = decide(credit(150_000, f"{ORDER},{ORDER2}"), facts(orders=orders), RULES, TODAY)
    assert (d.outcome, d.rule, d.refs) == (Outcome.MATCHED, "orders_in_one_line", (ORDER, ORDER2))
    short = decide(credit(149_999, f"{ORDER},{ORDER2}"), facts(orders=orders), RULES, TODAY)
    assert short.exception is ExceptionKind.SHORT


def test_an_unknown_order_or_another_funders_order_is_unknown() -> None:
    assert decide(credit(100_000, ORDER), facts(), RULES, TODAY).exception is ExceptionKind.UNKNOWN
    theirs = {ORDER: order()}
    from_f02 = credit(100_000, ORDER, account="6222000000000002")
    assert decide(from_f02, facts(orders=theirs), RULES, TODAY).exception is ExceptionKind.UNKNOWN
    # From an account we do not know, the reference alone identifies the order.
    unknown_account = credit(100_000, ORDER, account="999")
    assert decide(unknown_account, facts(orders=theirs), RULES, TODAY).outcome is Outcome.MATCHED


def test_a_commission_file_is_paid_by_its_exact_total_once() -> None:
    files = {"YC00000007": FileFacts("YC00000007", 1_234_500, "awaiting_funds")}
    d = decide(credit(1_234_500, "佣金 YC00000007"), facts(files=files), RULES, TODAY)
    assert (d.outcome, d.target, d.refs) == (Outcome.MATCHED, Target.COMMISSION, ("YC00000007",))
    short = decide(credit(1_234_499, "YC00000007"), facts(files=files), RULES, TODAY)
    assert short.exception is ExceptionKind.SHORT
    files["YC00000007"].blocked = True
    closed = decide(credit(1_234_500, "YC00000007"), facts(files=files), RULES, TODAY)
    assert closed.exception is ExceptionKind.ACCOUNT_CLOSED
    files["YC00000007"].state = "applied"
    again = decide(credit(1_234_500, "YC00000007"), facts(files=files), RULES, TODAY)
    assert again.exception is ExceptionKind.DUPLICATE


def test_a_pay_in_code_credits_its_wallet_and_a_wrong_one_credits_nobody() -> None:
    d = decide(credit(5_000, wallet_id=42), facts(wallets={42: True}), RULES, TODAY)
    assert (d.outcome, d.target, d.refs) == (Outcome.MATCHED, Target.WALLET, ("42",))
    nobody = decide(credit(5_000, wallet_id=43), facts(wallets={42: True}), RULES, TODAY)
    assert nobody.exception is ExceptionKind.UNKNOWN
    closed = decide(credit(5_000, wallet_id=42), facts(wallets={42: False}), RULES, TODAY)
    assert closed.exception is ExceptionKind.ACCOUNT_CLOSED


def payment(status: str = "instructed", amount: int = 30_000) -> PaymentFacts:
    return PaymentFacts("YP000000000042", amount, status, "6222021234567890123", TODAY)


@pytest.mark.parametrize(
    ("status", "amount", "expected"),
    [
        ("instructed", 30_000, None),
        ("instructed", 29_000, ExceptionKind.SHORT),
        ("instructed", 31_000, ExceptionKind.OVER),
        ("settled", 30_000, ExceptionKind.DUPLICATE),
        ("failed", 30_000, ExceptionKind.UNORDERED_DEBIT),
    ],
)
def test_a_debit_quoting_our_payment(
    status: str, amount: int, expected: ExceptionKind | None
) -> None:
    found = facts(payments={"YP000000000042": payment(status)})
    d = decide(debit(amount, "代付 YP000000000042"), found, RULES, TODAY)
    assert d.exception is expected
    if expected is None:
        assert (d.outcome, d.target, d.returned) == (Outcome.MATCHED, Target.PAYMENT, False)


def test_a_debit_without_reference_settles_the_one_open_payment_to_that_payee() -> None:
    open_one = payment()
    found = facts(
        payments={open_one.ref: open_one},
        open_payments_by_payee={open_one.payee_account: [open_one]},
    )  # type: ignore[dict-item]
    d = decide(debit(30_000, account="6222021234567890123"), found, RULES, TODAY)
    assert (d.outcome, d.rule, d.refs) == (Outcome.MATCHED, "payment_by_payee", (open_one.ref,))
    other = decide(debit(30_000, account="6222029999999999999"), found, RULES, TODAY)
    assert other.exception is ExceptionKind.UNORDERED_DEBIT


def test_a_credit_quoting_our_payment_is_the_bank_returning_it() -> None:
    found = facts(payments={"YP000000000042": payment("settled")})
    d = decide(credit(30_000, "退汇 YP000000000042"), found, RULES, TODAY)
    assert (d.outcome, d.target, d.returned) == (Outcome.MATCHED, Target.PAYMENT, True)


def notice(kind: str = "funding", amount: int = 100_000, **kw: object) -> NoticeFacts:
    return NoticeFacts(
        int(kw.get("id", 7)),  # type: ignore[arg-type]
        kind,
        str(kw.get("party", "funder:F01")),
        str(kw.get("target", ORDER)),
        amount,
        kw.get("value_date", TODAY),  # type: ignore[arg-type]
    )


def test_without_a_reference_a_fitting_notice_is_only_a_proposal() -> None:
    d = decide(credit(100_000, "货款"), facts(notices=[notice()]), RULES, TODAY)
    assert (d.outcome, d.exception, d.proposal) == (
        Outcome.EXCEPTION,
        ExceptionKind.PROPOSED,
        f"order:{ORDER}",
    )


@pytest.mark.parametrize(
    "other",
    [
        notice(party="funder:F02"),  # another funder's word
        notice(amount=99_999),  # not the amount (no tolerance by default)
        notice(value_date=date(2026, 3, 1)),  # outside the date window
    ],
)
def test_a_notice_that_does_not_fit_proposes_nothing(other: NoticeFacts) -> None:
    d = decide(credit(100_000, "货款"), facts(notices=[other]), RULES, TODAY)
    assert (d.exception, d.proposal) == (ExceptionKind.UNKNOWN, None)


def test_tolerance_and_auto_are_the_operators_settings() -> None:
    rules = {**RULES, "funding_notice": Rule("funding_notice", auto=True, amount_tolerance=100)}
    close = decide(credit(99_950, "货款"), facts(notices=[notice()]), rules, TODAY)
    assert close.exception is ExceptionKind.PROPOSED  # within tolerance, but not exact: propose
    exact = decide(credit(100_000, "货款"), facts(notices=[notice()]), rules, TODAY)
    assert (exact.outcome, exact.target, exact.refs) == (Outcome.MATCHED, Target.ORDER, (ORDER,))


def test_two_fitting_notices_are_for_an_operator_to_choose() -> None:
    twins = [notice(id=1), notice(id=2, target=ORDER2)]
    d = decide(credit(100_000, "货款"), facts(notices=twins), RULES, TODAY)
    assert (d.exception, d.proposal) == (ExceptionKind.UNKNOWN, None)


def test_a_top_up_notice_proposes_its_wallet() -> None:
    said = notice("top_up", 5_000, party="agent:A001", target="agent:A001")
    d = decide(credit(5_000, "转账", account="6222"), facts(notices=[said]), RULES, TODAY)
    assert d.proposal == "wallet:agent:A001"


def test_a_debit_quoting_nothing_is_unordered() -> None:
    d: Decision = decide(debit(1_500, "手续费"), facts(), RULES, TODAY)
    assert d.exception is ExceptionKind.UNORDERED_DEBIT
