"""The pure decision core, read as a specification (TigerBeetle's semantics)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from yirong.errors import YirongError
from yirong.ledger import rules
from yirong.ledger.model import (
    MAX_BALANCE,
    Account,
    AccountKind,
    AccountState,
    Balance,
    ExpirePending,
    Leg,
    NewEntry,
    Phase,
    Posting,
    PostPending,
    Reverse,
    Side,
    StoredEntry,
    VoidPending,
    fingerprint,
)
from yirong.ledger.rules import CREATED, EXISTS, Snapshot, decide

TODAY = date(2026, 3, 2)
RESERVE = Account(1, "reserve", "platform", "CNY", AccountKind.ASSET, shards=4)
WALLET = Account(
    2, "wallet:a", "platform", "CNY", AccountKind.LIABILITY, debits_must_not_exceed_credits=True
)
OTHER = Account(
    3, "wallet:b", "platform", "CNY", AccountKind.LIABILITY, debits_must_not_exceed_credits=True
)
MEMO = Account(4, "memo:x", "funder:F1", "CNY", AccountKind.MEMO)
USD = Account(5, "usd", "platform", "USD", AccountKind.ASSET)
CAPPED = Account(
    6, "capped", "platform", "CNY", AccountKind.ASSET, credits_must_not_exceed_debits=True
)
ACCOUNTS = {a.id: a for a in (RESERVE, WALLET, OTHER, MEMO, USD, CAPPED)}


def balances(**by_account: Balance) -> dict[tuple[int, int], Balance]:
    rows = {(a.id, s): Balance() for a in ACCOUNTS.values() for s in range(a.shards)}
    for code, balance in by_account.items():
        account = {"wallet": WALLET, "other": OTHER, "capped": CAPPED}[code]
        rows[(account.id, 0)] = balance
    return rows


def snap(rows: dict[tuple[int, int], Balance] | None = None, **kw: object) -> Snapshot:
    fields: dict[str, object] = dict(
        business_date=TODAY,
        accounts=ACCOUNTS,
        balances=rows or balances(),
        existing={},
        targets={},
        resolutions={},
        reversed_ids=frozenset(),
    )
    fields.update(kw)
    return Snapshot(**fields)  # type: ignore[arg-type]


def move(key: str, debit: Account, credit: Account, amount: int, **kw: object) -> NewEntry:
    return NewEntry(
        key,
        "test.move",
        (Leg(debit.id, Side.DEBIT, amount), Leg(credit.id, Side.CREDIT, amount)),
        **kw,
    )  # type: ignore[arg-type]


def funded(amount: int, state: AccountState = AccountState.ACTIVE) -> Balance:
    return Balance(state, credits_posted=amount)


def one(request: rules.Request, s: Snapshot) -> rules.Decision:
    [decision] = decide([request], s).decisions
    return decision


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (NewEntry("k", "c", (Leg(1, Side.DEBIT, 5),)), "entry_needs_two_postings"),
        (NewEntry("k", "c", (Leg(1, Side.DEBIT, 5), Leg(2, Side.CREDIT, 4))), "entry_not_balanced"),
        (
            NewEntry("k", "c", (Leg(2, Side.DEBIT, 5), Leg(2, Side.CREDIT, 5))),
            "accounts_must_be_different",
        ),
        (NewEntry("k", "c", (Leg(1, Side.DEBIT, 0), Leg(2, Side.CREDIT, 0))), "amount_zero"),
        (NewEntry("k", "c", (Leg(1, Side.DEBIT, -1), Leg(2, Side.CREDIT, -1))), "amount_negative"),
        (
            NewEntry("", "c", (Leg(1, Side.DEBIT, 1), Leg(2, Side.CREDIT, 1))),
            "idempotency_key_invalid",
        ),
        (
            NewEntry("a b", "c", (Leg(1, Side.DEBIT, 1), Leg(2, Side.CREDIT, 1))),
            "idempotency_key_invalid",
        ),
        (
            NewEntry("k" * 129, "c", (Leg(1, Side.DEBIT, 1), Leg(2, Side.CREDIT, 1))),
            "idempotency_key_invalid",
        ),
        (
            NewEntry(
                "k",
                "c",
                (Leg(1, Side.DEBIT, 2), Leg(2, Side.CREDIT, 1), Leg(3, Side.CREDIT, 1)),
                pending=True,
            ),
            "pending_entry_needs_two_postings",
        ),
        (PostPending("k", "c", 9, amount=0), "amount_zero"),
    ],
)
def test_validation_refuses_what_no_state_could_fix(request_: rules.Request, code: str) -> None:
    with pytest.raises(YirongError) as refused:
        rules.validate(request_)
    assert refused.value.code == code


# ---------------------------------------------------------------- posting


def test_a_transfer_moves_money_and_says_where() -> None:
    d = one(move("k1", WALLET, OTHER, 300), snap(balances(wallet=funded(1000))))
    assert d.status == CREATED
    assert d.row is not None and d.row.phase is Phase.POSTED
    assert [(p.account_id, p.side, p.amount) for p in d.row.postings] == [
        (WALLET.id, Side.DEBIT, 300),
        (OTHER.id, Side.CREDIT, 300),
    ]


def test_overdraft_is_refused_and_the_refusal_is_recorded() -> None:
    d = one(move("k1", WALLET, OTHER, 1001), snap(balances(wallet=funded(1000))))
    assert d.status == "exceeds_credits"
    assert (
        d.row is not None and d.row.phase is Phase.REJECTED and d.row.rejection == "exceeds_credits"
    )
    assert d.row.postings == ()


def test_pending_debits_reserve_funds_and_pending_credits_are_not_spendable() -> None:
    held = Balance(credits_posted=1000, debits_pending=600, credits_pending=5000)
    assert (
        one(move("k", WALLET, OTHER, 401), snap(balances(wallet=held))).status == "exceeds_credits"
    )
    assert one(move("k", WALLET, OTHER, 400), snap(balances(wallet=held))).status == CREATED


def test_later_requests_in_a_batch_see_earlier_ones() -> None:
    plan = decide(
        [
            move("a", WALLET, OTHER, 600),
            move("b", WALLET, OTHER, 600),
            move("c", OTHER, WALLET, 100),
            move("d", WALLET, OTHER, 500),
        ],
        snap(balances(wallet=funded(1000))),
    )
    assert [d.status for d in plan.decisions] == [CREATED, "exceeds_credits", CREATED, CREATED]
    assert plan.deltas[(WALLET.id, 0)].debits_posted == 1100
    assert plan.deltas[(WALLET.id, 0)].credits_posted == 100


@pytest.mark.parametrize(
    ("state", "as_debit", "exempt", "status"),
    [
        (AccountState.DEBIT_BLOCKED, True, False, "account_frozen"),
        (AccountState.DEBIT_BLOCKED, True, True, CREATED),  # repayment may still debit
        (AccountState.DEBIT_BLOCKED, False, False, CREATED),  # credits always land
        (AccountState.BLOCKED, True, False, "account_blocked"),
        (AccountState.BLOCKED, False, False, "account_blocked"),
        (AccountState.CLOSED, True, True, "account_closed"),
        (AccountState.CLOSED, False, False, "account_closed"),
    ],
)
def test_account_states(state: AccountState, as_debit: bool, exempt: bool, status: str) -> None:
    rows = balances(wallet=funded(1000, state), other=funded(1000))
    request = (
        move("k", WALLET, OTHER, 10, debit_block_exempt=exempt)
        if as_debit
        else move("k", OTHER, WALLET, 10, debit_block_exempt=exempt)
    )
    assert one(request, snap(rows)).status == status


def test_books_and_currencies_do_not_mix() -> None:
    assert one(move("k", RESERVE, MEMO, 5), snap()).status == "book_mismatch"
    assert one(move("k", RESERVE, USD, 5), snap()).status == "currency_mismatch"


def test_unknown_accounts_are_refused() -> None:
    request = NewEntry("k", "c", (Leg(99, Side.DEBIT, 5), Leg(WALLET.id, Side.CREDIT, 5)))
    d = one(request, snap())
    assert d.status == "account_not_found"
    assert d.row is not None and d.row.book == "platform"  # the refusal keeps what is known


def test_credit_limit_flag() -> None:
    rows = balances(capped=Balance(debits_posted=100))
    assert (
        one(
            move("k", WALLET, CAPPED, 101),
            snap(
                rows | balances(wallet=funded(1000)) | {(CAPPED.id, 0): Balance(debits_posted=100)}
            ),
        ).status
        == "exceeds_debits"
    )


def test_balances_never_overflow() -> None:
    rows = balances(other=Balance(credits_posted=MAX_BALANCE - 5))
    rows[(WALLET.id, 0)] = funded(100)
    assert one(move("k", WALLET, OTHER, 6), snap(rows)).status == "overflows_balance"
    assert one(move("k", WALLET, OTHER, 5), snap(rows)).status == CREATED


def test_hot_accounts_spread_keys_over_shards_stably() -> None:
    shards = {RESERVE.shard_for(f"key-{n}") for n in range(200)}
    assert shards == set(range(RESERVE.shards))
    assert RESERVE.shard_for("same") == RESERVE.shard_for("same")
    assert WALLET.shard_for("anything") == 0


def test_a_hold_cannot_expire_before_today() -> None:
    request = move("k", RESERVE, WALLET, 5, pending=True, expires_on=date(2026, 3, 1))
    assert one(request, snap()).status == "expiry_before_business_date"


# ---------------------------------------------------------------- idempotency


def stored(request: NewEntry, entry_id: int = 7, **kw: object) -> StoredEntry:
    postings = tuple(
        Posting(n, leg.account_id, 0, leg.side, leg.amount) for n, leg in enumerate(request.legs)
    )
    fields: dict[str, object] = dict(
        id=entry_id,
        key=request.key,
        fingerprint=fingerprint(request),
        book="platform",
        code=request.code,
        phase=request.phase,
        business_date=TODAY,
        postings=postings,
        expires_on=request.expires_on,
    )
    fields.update(kw)
    return StoredEntry(**fields)  # type: ignore[arg-type]


def test_the_same_request_again_is_exists_and_moves_nothing() -> None:
    first = move("k", WALLET, OTHER, 5)
    plan = decide([first], snap(balances(wallet=funded(10)), existing={"k": stored(first)}))
    assert plan.decisions[0].status == EXISTS
    assert plan.decisions[0].existing is not None and plan.decisions[0].existing.id == 7
    assert plan.rows == [] and plan.deltas == {}


@pytest.mark.parametrize(
    ("retry", "code"),
    [
        (move("k", WALLET, OTHER, 6), "exists_with_different_amount"),
        (move("k", WALLET, RESERVE, 5), "exists_with_different_accounts"),
        (move("k", WALLET, OTHER, 5, pending=True), "exists_with_different_phase"),
        (replace(move("k", WALLET, OTHER, 5), code="other.code"), "exists_with_different_code"),
        (move("k", WALLET, OTHER, 5, memo="x"), "exists_with_different_request"),
        (PostPending("k", "c", 3), "exists_with_different_pending_id"),
    ],
)
def test_the_same_key_with_another_request_names_the_difference(
    retry: rules.Request, code: str
) -> None:
    first = move("k", WALLET, OTHER, 5)
    d = one(retry, snap(balances(wallet=funded(10)), existing={"k": stored(first)}))
    assert d.status == code
    assert d.row is None  # nothing written


def test_the_same_key_for_a_hold_with_another_expiry_names_the_expiry() -> None:
    first = move("k", WALLET, OTHER, 5, pending=True, expires_on=date(2026, 3, 10))
    retry = move("k", WALLET, OTHER, 5, pending=True, expires_on=date(2026, 3, 11))
    d = one(retry, snap(balances(wallet=funded(10)), existing={"k": stored(first)}))
    assert (d.status, d.row) == ("exists_with_different_expiry", None)


def test_a_failed_key_stays_failed() -> None:
    first = move("k", WALLET, OTHER, 5)
    failed = stored(first, phase=Phase.REJECTED, rejection="exceeds_credits", postings=())
    d = one(first, snap(balances(wallet=funded(1000)), existing={"k": failed}))
    assert d.status == "id_already_failed" and d.detail == "exceeds_credits"
    other = move("k", WALLET, OTHER, 6)
    assert one(other, snap(existing={"k": failed})).status == "exists_with_different_request"


def test_a_key_twice_in_one_batch() -> None:
    plan = decide(
        [move("k", WALLET, OTHER, 5), move("k", WALLET, OTHER, 5), move("k", WALLET, OTHER, 6)],
        snap(balances(wallet=funded(100))),
    )
    assert [d.status for d in plan.decisions] == [CREATED, EXISTS, "exists_with_different_request"]
    assert plan.deltas[(WALLET.id, 0)].debits_posted == 5


# ---------------------------------------------------------------- two-phase


def hold(amount: int = 100, expires_on: date | None = None) -> StoredEntry:
    request = move("h", WALLET, OTHER, amount, pending=True, expires_on=expires_on)
    return stored(request, entry_id=40)


def test_post_part_of_a_hold_releases_the_rest() -> None:
    rows = balances(
        wallet=Balance(credits_posted=100, debits_pending=100), other=Balance(credits_pending=100)
    )
    d = decide([PostPending("p", "c", 40, amount=60)], snap(rows, targets={40: hold()}))
    [decision] = d.decisions
    assert decision.status == CREATED
    assert decision.row is not None and decision.row.pending_id == 40
    wallet = d.deltas[(WALLET.id, 0)]
    assert (wallet.debits_pending, wallet.debits_posted) == (-100, 60)
    other = d.deltas[(OTHER.id, 0)]
    assert (other.credits_pending, other.credits_posted) == (-100, 60)


def test_post_more_than_held_is_refused() -> None:
    d = one(PostPending("p", "c", 40, amount=101), snap(targets={40: hold()}))
    assert d.status == "exceeds_pending_amount"


@pytest.mark.parametrize(
    ("earlier", "code"),
    [
        (Phase.POSTED, "pending_entry_already_posted"),
        (Phase.VOIDED, "pending_entry_already_voided"),
        (Phase.EXPIRED, "pending_entry_expired"),
    ],
)
def test_a_hold_resolves_once(earlier: Phase, code: str) -> None:
    s = snap(targets={40: hold()}, resolutions={40: earlier})
    assert one(VoidPending("v", "c", 40), s).status == code
    assert one(PostPending("p", "c", 40), s).status == code


def test_a_hold_resolves_once_within_a_batch() -> None:
    rows = balances(
        wallet=Balance(credits_posted=100, debits_pending=100), other=Balance(credits_pending=100)
    )
    plan = decide(
        [PostPending("p", "c", 40), VoidPending("v", "c", 40)], snap(rows, targets={40: hold()})
    )
    assert [d.status for d in plan.decisions] == [CREATED, "pending_entry_already_posted"]


def test_expired_holds_can_only_expire() -> None:
    s = snap(targets={40: hold(expires_on=date(2026, 3, 1))})
    assert one(PostPending("p", "c", 40), s).status == "pending_entry_expired"
    assert one(VoidPending("v", "c", 40), s).status == "pending_entry_expired"
    assert one(ExpirePending("x", "c", 40), s).status == CREATED
    still_valid = snap(targets={40: hold(expires_on=TODAY)})
    assert one(ExpirePending("x", "c", 40), still_valid).status == "pending_entry_not_expired"
    assert one(PostPending("p", "c", 40), still_valid).status == CREATED


def test_a_hold_placed_before_a_freeze_may_still_settle() -> None:
    rows = balances(
        wallet=Balance(AccountState.DEBIT_BLOCKED, credits_posted=100, debits_pending=100),
        other=Balance(credits_pending=100),
    )
    assert one(PostPending("p", "c", 40), snap(rows, targets={40: hold()})).status == CREATED


def test_unknown_holds() -> None:
    assert one(VoidPending("v", "c", 41), snap()).status == "pending_entry_not_found"
    posted = stored(move("h", WALLET, OTHER, 5), entry_id=41)
    assert (
        one(VoidPending("v", "c", 41), snap(targets={41: posted})).status
        == "pending_entry_not_found"
    )


# ---------------------------------------------------------------- reversals


def test_reversal_mirrors_the_original() -> None:
    original = stored(move("o", WALLET, OTHER, 30), entry_id=50)
    rows = balances(wallet=funded(70), other=funded(30))
    d = one(Reverse("r", "c", 50), snap(rows, targets={50: original}))
    assert d.status == CREATED and d.row is not None and d.row.reverses_id == 50
    assert [(p.account_id, p.side, p.amount) for p in d.row.postings] == [
        (WALLET.id, Side.CREDIT, 30),
        (OTHER.id, Side.DEBIT, 30),
    ]


def test_reversal_refusals() -> None:
    original = stored(move("o", WALLET, OTHER, 30), entry_id=50)
    spent = balances(wallet=funded(70), other=funded(10))
    assert (
        one(Reverse("r", "c", 50), snap(spent, targets={50: original})).status == "exceeds_credits"
    )
    assert (
        one(
            Reverse("r", "c", 50), snap(targets={50: original}, reversed_ids=frozenset({50}))
        ).status
        == "entry_already_reversed"
    )
    assert one(Reverse("r", "c", 51), snap()).status == "entry_not_found"
    assert one(Reverse("r", "c", 40), snap(targets={40: hold()})).status == "cannot_reverse_pending"
