"""Order financing's pure rules, against figures worked by hand and properties over
any order: the advance never exceeds the rate's share of what remains, whatever is
cancelled before the payout or refunded after it."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from yirong.orders import model

RATES = st.integers(100_000, 1_000_000)  # 10% to 100%, in millionths


def test_the_split_of_an_order_by_hand() -> None:
    # 10,000.00 yuan at 80%: 8,000.00 advanced, 2,000.00 the agent's, 800.00 margin.
    parts = model.split(1_000_000, model.max_advance(1_000_000, 800_000), 100_000)
    assert (parts.advance, parts.own_part, parts.margin) == (800_000, 200_000, 80_000)
    assert parts.payout == 1_000_000 and parts.held == 280_000
    # Rounded down: 70% of 333 fen is 233.1 fen, and 233 is the most.
    assert model.max_advance(333, 700_000) == 233


def test_the_term_follows_the_order_cycle() -> None:
    assert model.term_days(date(2026, 1, 5), date(2026, 1, 15), 30) == 40
    # Goods already due: only the time to sell them.
    assert model.term_days(date(2026, 1, 5), date(2026, 1, 1), 30) == 30


def test_the_gate_names_everything_missing() -> None:
    facts = model.GateFacts(
        order_confirmed=False,
        order_cancelled=False,
        documents=frozenset({"contract"}),
        advance=801,
        allowed_advance=800,
        facility_active=True,
        margin_held=False,
        supplier_verified=False,
        supplier_whitelisted=True,
        other_financings=1,
        money_in_escrow=False,
        agent_overdue=True,
    )
    assert model.missing(facts) == [
        "order_not_confirmed",
        "document:invoice",
        "advance_over_rate",
        "margin_not_held",
        "supplier_account_unverified",
        "order_already_financed",
        "funder_money_not_arrived",
        "agent_overdue",
    ]


@given(
    total=st.integers(1, 10**12),
    rate=RATES,
    cut=st.lists(st.integers(1, 10**11), max_size=6),
)
def test_what_may_be_advanced_only_falls_as_the_order_shrinks(
    total: int, rate: int, cut: list[int]
) -> None:
    reduced, allowed = 0, model.max_advance(total, rate)
    assert allowed * 1_000_000 <= total * rate < (allowed + 1) * 1_000_000
    for amount in cut:
        if reduced + amount > total:
            continue
        reduced += amount
        now = model.max_advance(model.net_value(total, reduced), rate)
        assert now <= allowed
        allowed = now


@given(
    total=st.integers(1, 10**12),
    rate=RATES,
    share=st.integers(0, 1_000_000),
    refunds=st.lists(st.integers(1, 10**12), max_size=6),
)
def test_a_refund_paying_principal_first_keeps_the_advance_within_the_rate(
    total: int, rate: int, share: int, refunds: list[int]
) -> None:
    """The refunds service's argument, checked over any order: principal P within the
    rate of the order N; a refund R repays min(R, P) of it and takes R off N."""
    net = total
    principal = model.max_advance(net, rate) * share // 1_000_000
    paid = net  # the supplier was paid the whole order
    for refund in refunds:
        if refund > paid:
            continue  # refused: refund_exceeds_paid
        paid -= refund
        net -= refund
        principal -= min(refund, principal)
        assert principal <= model.max_advance(net, rate)
