"""Wallet use cases, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.bank import open_reserve, pay_out
from tests.ledger.helpers import assert_books_balance
from yirong.books.service import current_business_date, next_business_day
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.ledger.model import AccountState
from yirong.payments.batch import batch_content, make_batches, read_batch
from yirong.payments.service import open_payments
from yirong.wallets import service as wallets
from yirong.wallets.service import FreezeReason


@pytest.fixture
def shop(db: Database) -> str:
    wallets.open_wallet(db, "agent:A001", "Shop A001")
    wallets.open_wallet(db, "agent:A002", "Shop A002")
    wallets.credit_from_bank(db, "A001", 10_000, "top-up-1")
    return "agent:A001"


def test_open_is_idempotent_and_a_bare_code_is_an_agent(db: Database) -> None:
    first = wallets.open_wallet(db, "A001", "Shop")
    again = wallets.open_wallet(db, "agent:A001", "Shop")
    assert first == again
    assert first.handle == "agent:A001" and first.balance == 0
    funder = wallets.open_wallet(db, "funder:F01", "Funder One")
    assert funder.account_code == "wallet:funder:F01"


@pytest.mark.parametrize("handle", ["bank:A1", "agent:", "agent:a b", "x" * 70])
def test_bad_handles(db: Database, handle: str) -> None:
    with pytest.raises(YirongError) as refused:
        wallets.open_wallet(db, handle, "x")
    assert refused.value.code == "wallet_owner_invalid"


def test_a_withdrawal_is_held_until_the_banks_statement_shows_it_paid(
    db: Database, shop: str
) -> None:
    held = wallets.request_withdrawal(db, shop, 3_000, "wd-1")
    view = wallets.wallet(db, shop)
    assert (view.balance, view.available, view.held) == (10_000, 7_000, 3_000)
    [instructed] = open_payments(db)
    assert (instructed.withdrawal_id, instructed.amount, instructed.status) == (
        held.entry_id,
        3_000,
        "instructed",
    )
    assert instructed.reference == f"YP{held.entry_id:012d}"
    # Asked again with the same key: the same withdrawal, nothing more held.
    assert wallets.request_withdrawal(db, shop, 3_000, "wd-1").entry_id == held.entry_id
    assert len(open_payments(db)) == 1
    assert pay_out(db, held.entry_id) == "matched"
    view = wallets.wallet(db, shop)
    assert (view.balance, view.available, view.held) == (7_000, 7_000, 0)
    assert open_payments(db) == []
    assert_books_balance(db)


def test_a_withdrawal_the_bank_refused_returns_the_money(db: Database, shop: str) -> None:
    held = wallets.request_withdrawal(db, shop, 3_000, "wd-1")
    refused = wallets.fail_withdrawal(db, held.entry_id, reason="bank account closed")
    assert refused.status == "failed"
    view = wallets.wallet(db, shop)
    assert (view.balance, view.available, view.held) == (10_000, 10_000, 0)
    # Refused twice is refused once; a debit for it afterwards is one the bank was not
    # asked to make.
    assert wallets.fail_withdrawal(db, held.entry_id, reason="again").status == "failed"
    assert pay_out(db, held.entry_id) == "unordered_debit"
    assert wallets.wallet(db, shop).balance == 10_000
    assert_books_balance(db)


def test_open_payments_are_those_the_bank_has_not_answered(db: Database, shop: str) -> None:
    paid, failed, waiting = (
        wallets.request_withdrawal(db, shop, 1_000, f"wd-{n}").entry_id for n in range(3)
    )
    wallets.credit_from_bank(db, "A002", 5_000, "other-top-up")
    other = wallets.request_withdrawal(db, "A002", 1_000, "wd-other").entry_id
    assert [p.withdrawal_id for p in open_payments(db)] == [paid, failed, waiting, other]
    pay_out(db, paid)
    wallets.fail_withdrawal(db, failed, reason="name mismatch")
    assert [p.withdrawal_id for p in open_payments(db)] == [waiting, other]


def test_withdrawal_refusals(db: Database, shop: str) -> None:
    with pytest.raises(YirongError) as too_much:
        wallets.request_withdrawal(db, shop, 10_001, "wd-big")
    assert too_much.value.code == "exceeds_credits"
    with pytest.raises(YirongError) as unknown:
        wallets.fail_withdrawal(db, 424242, reason="x")
    assert unknown.value.code == "withdrawal_not_found"
    top_up = wallets.credit_from_bank(db, shop, 1, "tiny")
    with pytest.raises(YirongError) as not_a_withdrawal:
        wallets.fail_withdrawal(db, top_up.entry_id, reason="x")
    assert not_a_withdrawal.value.code == "withdrawal_not_found"
    assert open_payments(db) == []


def test_pay_carrier_and_transfer(db: Database, shop: str) -> None:
    wallets.pay_carrier(db, shop, 4_000, "pre-1")
    wallets.transfer(db, shop, "A002", 1_000, "tr-1")
    assert wallets.wallet(db, shop).balance == 5_000
    assert wallets.wallet(db, "A002").balance == 1_000
    with pytest.raises(YirongError) as self_pay:
        wallets.transfer(db, shop, shop, 1, "tr-self")
    assert self_pay.value.code == "accounts_must_be_different"
    with pytest.raises(YirongError) as nobody:
        wallets.transfer(db, shop, "A999", 1, "tr-nobody")
    assert nobody.value.code == "wallet_not_found"
    assert_books_balance(db)


def test_freeze_takes_credits_refuses_debits(db: Database, shop: str) -> None:
    view = wallets.freeze(db, shop, FreezeReason.RISK, note="odd activity", actor="op1")
    assert view.state is AccountState.DEBIT_BLOCKED and view.freezes == ("risk",)
    wallets.credit_from_bank(db, shop, 500, "top-up-frozen")  # credits still land
    for attempt in (
        lambda: wallets.pay_carrier(db, shop, 1, "pre-f"),
        lambda: wallets.request_withdrawal(db, shop, 1, "wd-f"),
        lambda: wallets.transfer(db, shop, "A002", 1, "tr-f"),
    ):
        with pytest.raises(YirongError) as refused:
            attempt()
        assert refused.value.code == "account_frozen"
    assert wallets.wallet(db, shop).balance == 10_500


def test_each_freeze_reason_is_lifted_on_its_own(db: Database, shop: str) -> None:
    wallets.freeze(db, shop, "risk", note="check", actor="op1")
    wallets.freeze(db, shop, "legal_order", note="court order 7", actor="op2")
    wallets.freeze(db, shop, "risk", note="again", actor="op1")  # no second risk freeze
    view = wallets.unfreeze(db, shop, "risk", note="cleared", actor="op1")
    assert view.state is AccountState.DEBIT_BLOCKED and view.freezes == ("legal_order",)
    view = wallets.unfreeze(db, shop, "legal_order", note="order lifted", actor="op2")
    assert view.state is AccountState.ACTIVE and view.freezes == ()
    wallets.pay_carrier(db, shop, 1, "pre-after")
    with pytest.raises(YirongError) as not_frozen:
        wallets.unfreeze(db, shop, "risk", note="x", actor="op1")
    assert not_frozen.value.code == "wallet_not_frozen"
    with pytest.raises(YirongError) as bad_reason:
        wallets.freeze(db, shop, "because", note="x", actor="op1")
    assert bad_reason.value.code == "wallet_freeze_reason_invalid"


def test_close_needs_an_empty_unfrozen_wallet(db: Database, shop: str) -> None:
    with pytest.raises(YirongError) as not_empty:
        wallets.close_wallet(db, shop, note="leaving")
    assert not_empty.value.code == "account_not_empty"
    wallets.transfer(db, shop, "A002", 10_000, "empty-it")
    view = wallets.close_wallet(db, shop, note="leaving")
    assert view.state is AccountState.CLOSED
    with pytest.raises(YirongError) as closed:
        wallets.credit_from_bank(db, shop, 1, "after-close")
    assert closed.value.code == "account_closed"


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (0, "amount_zero"),
        (-5, "amount_negative"),
        (10**15 + 1, "amount_too_large"),
        (1.5, "amount_not_integer"),
    ],
)
def test_bad_amounts_change_nothing(db: Database, shop: str, amount: object, code: str) -> None:
    with pytest.raises(YirongError) as refused:
        wallets.credit_from_bank(db, shop, amount, "bad")  # type: ignore[arg-type]
    assert refused.value.code == code
    assert wallets.wallet(db, shop).balance == 10_000
    # The key was never used: a good request with it still goes through.
    assert wallets.credit_from_bank(db, shop, 1, "bad").status == "created"


def test_a_withdrawal_retried_on_a_later_day_is_the_same_request(db: Database, shop: str) -> None:
    held = wallets.request_withdrawal(db, shop, 3_000, "wd-once")
    with pytest.raises(YirongError) as refused:
        wallets.request_withdrawal(db, shop, 999_999, "wd-too-much")
    assert refused.value.code == "exceeds_credits"
    next_business_day(db)
    again = wallets.request_withdrawal(db, shop, 3_000, "wd-once")
    assert (again.status, again.entry_id) == ("exists", held.entry_id)
    with pytest.raises(YirongError) as still:
        wallets.request_withdrawal(db, shop, 999_999, "wd-too-much")
    assert still.value.code == "id_already_failed"
    assert wallets.wallet(db, shop).held == 3_000


def test_withdrawals_leave_in_a_batch_file_of_the_days_up_to_today(db: Database, shop: str) -> None:
    open_reserve(db)  # the bank account the batch pays from
    held = wallets.request_withdrawal(db, shop, 3_000, "wd-1")
    today = current_business_date(db)
    with pytest.raises(YirongError) as future:
        make_batches(db, today + timedelta(days=1))
    assert future.value.code == "payment_batch_future"
    [batch] = make_batches(db, today)
    content = batch_content(db, batch.reference)
    reference, [line] = read_batch(content)
    assert (reference, line.amount, batch.payments, batch.total) == (
        batch.reference,
        3_000,
        1,
        3_000,
    )
    assert line.payment_ref == f"YP{held.entry_id:012d}"
    header, columns, *rows = content.decode().splitlines()
    for broken in (
        "\n".join([columns, *rows]),  # no control record
        "\n".join([header, columns]),  # the control record counts a payment not there
    ):
        with pytest.raises(YirongError) as refused:
            read_batch(broken.encode())
        assert refused.value.code == "payment_batch_malformed"
    with pytest.raises(YirongError) as missing:
        batch_content(db, "PB-NONE")
    assert missing.value.code == "payment_batch_not_found"
