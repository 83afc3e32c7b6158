"""The fast path's promise: a guarded plan's preconditions hold only when the full
decision would create every entry (exactly then, when every account is active: a
frozen wallet's credits and repayments take the full path, because their use cases
do more in the same transaction), and then it writes exactly what decide() would."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from yirong.ledger import rules
from yirong.ledger.model import Account, AccountKind, AccountState, Balance, Leg, NewEntry, Side
from yirong.ledger.rules import CREATED, Snapshot

ACCOUNTS = {
    1: Account(1, "reserve", "platform", "CNY", AccountKind.ASSET, shards=3),
    2: Account(
        2, "wallet:a", "platform", "CNY", AccountKind.LIABILITY, debits_must_not_exceed_credits=True
    ),
    3: Account(
        3, "wallet:b", "platform", "CNY", AccountKind.LIABILITY, debits_must_not_exceed_credits=True
    ),
    4: Account(
        4, "capped", "platform", "CNY", AccountKind.ASSET, credits_must_not_exceed_debits=True
    ),
    5: Account(5, "plain", "platform", "CNY", AccountKind.INCOME),
}
KEYS = [(a.id, s) for a in ACCOUNTS.values() for s in range(a.shards)]

balances_strategy = st.fixed_dictionaries(
    {
        key: st.builds(
            Balance,
            st.sampled_from(list(AccountState)),
            st.integers(0, 50),
            st.integers(0, 200),
            st.integers(0, 50),
            st.integers(0, 200),
        )
        for key in KEYS
    }
)


@st.composite
def batches(draw: st.DrawFn) -> list[NewEntry]:
    requests = []
    for n in range(draw(st.integers(1, 5))):
        debit, credit = draw(
            st.lists(st.sampled_from(list(ACCOUNTS)), min_size=2, max_size=2, unique=True)
        )
        amount = draw(st.integers(1, 120))
        requests.append(
            NewEntry(
                f"k{n}",
                "test",
                (Leg(debit, Side.DEBIT, amount), Leg(credit, Side.CREDIT, amount)),
                pending=draw(st.booleans()),
                debit_block_exempt=draw(st.booleans()),
            )
        )
    return requests


@settings(max_examples=600)
@given(balances_strategy, batches())
def test_preconditions_hold_exactly_when_decide_creates_everything(
    balances: dict[tuple[int, int], Balance], requests: list[NewEntry]
) -> None:
    plan = rules.guarded_plan(requests, ACCOUNTS)
    assert plan is not None
    snap = Snapshot(date(2026, 1, 5), ACCOUNTS, balances, {}, {}, {})
    decided = rules.decide(requests, snap)
    all_created = all(d.status == CREATED for d in decided.decisions)
    holds = all(p.holds(balances[p.key]) for p in plan.preconditions)
    assert all_created or not holds
    if all(balances[p.key].state is AccountState.ACTIVE for p in plan.preconditions):
        assert holds == all_created
    if holds:
        assert list(plan.rows) == decided.rows
        assert {k: d for k, d in plan.deltas.items() if not d.is_zero()} == {
            k: d for k, d in decided.deltas.items() if not d.is_zero()
        }


def test_no_plan_for_what_needs_the_books() -> None:
    transfer = NewEntry("a", "t", (Leg(2, Side.DEBIT, 1), Leg(3, Side.CREDIT, 1)))
    unknown = NewEntry("b", "t", (Leg(2, Side.DEBIT, 1), Leg(99, Side.CREDIT, 1)))
    assert rules.guarded_plan([transfer], ACCOUNTS) is not None
    assert rules.guarded_plan([unknown], ACCOUNTS) is None
    assert rules.guarded_plan([transfer, transfer], ACCOUNTS) is None  # a repeated key
    assert rules.guarded_plan([rules.VoidPending("v", "t", 3)], ACCOUNTS) is None
