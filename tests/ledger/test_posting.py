"""Posting against real databases (SQLite and PostgreSQL): what is written, what is
refused, and that a refusal changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import FIRST_DAY
from tests.ledger.helpers import (
    assert_books_balance,
    balance,
    count_entries,
    move,
    open_wallet_account,
    post,
    post_batch,
    reserve,
)
from yirong.books.service import advance_business_date
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.ledger import service as ledger
from yirong.ledger.model import AccountState, Phase, PostPending, Reverse, VoidPending


def test_top_up_then_transfer(db: Database) -> None:
    a, b, r = open_wallet_account(db, "w:a"), open_wallet_account(db, "w:b"), reserve(db)
    first = post(db, move("t1", r, a, 1_000))
    assert first.created and first.phase is Phase.POSTED and first.business_date == FIRST_DAY
    post(db, move("t2", a, b, 400))
    assert balance(db, a).balance == 600
    assert balance(db, b).balance == 400
    assert balance(db, r).balance == 1_000
    assert_books_balance(db)


@pytest.mark.parametrize("final", [False, True])
def test_the_same_key_twice_moves_money_once(db: Database, final: bool) -> None:
    a, r = open_wallet_account(db, "w:a"), reserve(db)
    first = post(db, move("k", r, a, 500), final=final)
    again = post(db, move("k", r, a, 500), final=final)
    assert (first.status, again.status) == ("created", "exists")
    assert again.entry_id == first.entry_id
    assert balance(db, a).balance == 500
    with pytest.raises(YirongError) as refused:
        post(db, move("k", r, a, 501), final=final)
    assert refused.value.code == "exists_with_different_amount"
    assert balance(db, a).balance == 500
    assert_books_balance(db)


@pytest.mark.parametrize("final", [False, True])
def test_refusals_move_nothing_and_are_remembered(db: Database, final: bool) -> None:
    a, b, r = open_wallet_account(db, "w:a"), open_wallet_account(db, "w:b"), reserve(db)
    post(db, move("fund", r, a, 100))
    with pytest.raises(YirongError) as refused:
        post(db, move("too-much", a, b, 101), final=final)
    assert refused.value.code == "exceeds_credits"
    assert (balance(db, a).balance, balance(db, b).balance) == (100, 0)
    post(db, move("fund-more", r, a, 1_000))
    # Now there would be enough, but the key already failed: the answer stays the same.
    with pytest.raises(YirongError) as again:
        post(db, move("too-much", a, b, 101), final=final)
    assert again.value.code == "id_already_failed"
    assert again.value.details["original"] == "exceeds_credits"
    assert balance(db, b).balance == 0
    assert_books_balance(db)


def test_invalid_requests_are_not_recorded(db: Database) -> None:
    a, r = open_wallet_account(db, "w:a"), reserve(db)
    before = count_entries(db)
    for bad, code in [
        (move("z", r, a, 0), "amount_zero"),
        (move("z", a, a, 5), "accounts_must_be_different"),
    ]:
        with pytest.raises(YirongError) as refused:
            post(db, bad)
        assert refused.value.code == code
    assert count_entries(db) == before


def test_frozen_account_takes_credits_and_refuses_debits_except_exempt(db: Database) -> None:
    a, b, r = open_wallet_account(db, "w:a"), open_wallet_account(db, "w:b"), reserve(db)
    post(db, move("fund", r, a, 1_000))
    db.run(
        lambda tx: ledger.set_state(
            tx, a, AccountState.DEBIT_BLOCKED, reason="test", business_date=FIRST_DAY
        )
    )
    with pytest.raises(YirongError) as refused:
        post(db, move("out", a, b, 10), final=True)
    assert refused.value.code == "account_frozen"
    assert post(db, move("in", r, a, 10), final=True).created
    assert post(db, move("repay", a, b, 10, debit_block_exempt=True), final=True).created
    assert balance(db, a).balance == 1_000
    assert balance(db, a).state is AccountState.DEBIT_BLOCKED


def test_closed_accounts(db: Database) -> None:
    a, b, r = open_wallet_account(db, "w:a"), open_wallet_account(db, "w:b"), reserve(db)
    post(db, move("fund", r, a, 10))
    with pytest.raises(YirongError) as not_empty:
        db.run(
            lambda tx: ledger.set_state(
                tx, a, AccountState.CLOSED, reason="x", business_date=FIRST_DAY
            )
        )
    assert not_empty.value.code == "account_not_empty"
    db.run(
        lambda tx: ledger.set_state(tx, b, AccountState.CLOSED, reason="x", business_date=FIRST_DAY)
    )
    with pytest.raises(YirongError) as closed:
        post(db, move("to-closed", a, b, 5))
    assert closed.value.code == "account_closed"
    with pytest.raises(YirongError) as reopen:
        db.run(
            lambda tx: ledger.set_state(
                tx, b, AccountState.ACTIVE, reason="x", business_date=FIRST_DAY
            )
        )
    assert reopen.value.code == "account_closed"


def test_hold_then_post_part(db: Database) -> None:
    a, r = open_wallet_account(db, "w:a"), reserve(db)
    post(db, move("fund", r, a, 1_000))
    held = post(db, move("hold", a, r, 600, pending=True))
    assert held.phase is Phase.PENDING
    assert (balance(db, a).balance, balance(db, a).available) == (1_000, 400)
    posted = post(db, PostPending("post", "test.post", held.entry_id, amount=450))  # type: ignore[arg-type]
    assert posted.created
    assert (balance(db, a).balance, balance(db, a).available) == (550, 550)
    with pytest.raises(YirongError) as again:
        post(db, VoidPending("void", "test.void", held.entry_id))  # type: ignore[arg-type]
    assert again.value.code == "pending_entry_already_posted"
    assert_books_balance(db)


def test_holds_expire_at_the_end_of_their_last_day(db: Database) -> None:
    a, r = open_wallet_account(db, "w:a"), reserve(db)
    post(db, move("fund", r, a, 100))
    held = post(db, move("hold", a, r, 100, pending=True, expires_on=FIRST_DAY))
    assert balance(db, a).available == 0
    db.run(lambda tx: advance_business_date(tx, FIRST_DAY + timedelta(days=1)))
    assert balance(db, a).available == 100
    with pytest.raises(YirongError) as expired:
        post(db, PostPending("late", "test.post", held.entry_id))  # type: ignore[arg-type]
    assert expired.value.code == "pending_entry_expired"
    assert_books_balance(db)


def test_business_date_moves_one_day_at_a_time(db: Database) -> None:
    with pytest.raises(YirongError) as skipped:
        db.run(lambda tx: advance_business_date(tx, FIRST_DAY + timedelta(days=2)))
    assert skipped.value.code == "business_date_invalid"
    with pytest.raises(YirongError) as back:
        db.run(lambda tx: advance_business_date(tx, FIRST_DAY))
    assert back.value.code == "business_date_invalid"


def test_reversal(db: Database) -> None:
    a, b, r = open_wallet_account(db, "w:a"), open_wallet_account(db, "w:b"), reserve(db)
    post(db, move("fund", r, a, 100))
    sent = post(db, move("send", a, b, 40))
    back = post(db, Reverse("undo", "test.reverse", sent.entry_id))  # type: ignore[arg-type]
    assert back.created
    assert (balance(db, a).balance, balance(db, b).balance) == (100, 0)
    with pytest.raises(YirongError) as twice:
        post(db, Reverse("undo-again", "test.reverse", sent.entry_id))  # type: ignore[arg-type]
    assert twice.value.code == "entry_already_reversed"
    assert_books_balance(db)


def test_batches_stand_alone_or_all_together(db: Database) -> None:
    a, b, r = open_wallet_account(db, "w:a"), open_wallet_account(db, "w:b"), reserve(db)
    post(db, move("fund", r, a, 100))
    results = post_batch(
        db, [move("b1", a, b, 60), move("b2", a, b, 60), move("b3", a, b, 0), move("b4", a, b, 40)]
    )
    assert [x.status for x in results] == ["created", "exceeds_credits", "amount_zero", "created"]
    assert balance(db, b).balance == 100
    with pytest.raises(YirongError) as refused:
        post_batch(db, [move("c1", b, a, 60), move("c2", b, a, 60)], atomic=True)
    assert refused.value.code == "exceeds_credits"
    assert refused.value.details["refusals"] == [
        {"index": 1, "key": "c2", "code": "exceeds_credits"}
    ]
    assert balance(db, b).balance == 100  # nothing of the atomic batch
    assert_books_balance(db)


def test_hot_account_balance_is_the_sum_of_its_shards(db: Database) -> None:
    r = reserve(db)
    wallets = [open_wallet_account(db, f"w:{n}") for n in range(5)]
    post_batch(
        db,
        [move(f"k{n}", r, w, 10 + n) for n, w in enumerate(wallets)]
        + [move(f"j{n}", r, w, 1) for n, w in enumerate(wallets)],
    )
    assert balance(db, r).balance == sum(10 + n + 1 for n in range(5))

    def shard_rows(tx):  # type: ignore[no-untyped-def]
        return tx.conn.execute(
            text(
                "SELECT COUNT(*) FROM ledger_balances WHERE account_id = :a AND debits_posted > 0"
            ),
            {"a": r.id},
        ).scalar_one()

    assert db.run(shard_rows) > 1  # spread over shards
    assert_books_balance(db)


@pytest.mark.parametrize("table", ["ledger_entries", "ledger_postings"])
def test_journal_is_append_only_in_the_database(db: Database, table: str) -> None:
    a, r = open_wallet_account(db, "w:a"), reserve(db)
    post(db, move("fund", r, a, 100))
    column = "amount" if table == "ledger_postings" else "code"
    value = "1" if table == "ledger_postings" else "'x'"
    for statement in (f"UPDATE {table} SET {column} = {value}", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.run(lambda tx, s=statement: tx.conn.execute(text(s)))


def test_the_database_refuses_an_overdraft_whatever_the_code(db: Database) -> None:
    a = open_wallet_account(db, "w:a")
    with pytest.raises(DBAPIError):
        db.run(
            lambda tx: tx.conn.execute(
                text("UPDATE ledger_balances SET debits_posted = 1 WHERE account_id = :a"),
                {"a": a.id},
            )
        )


def test_opening_accounts(db: Database) -> None:
    from yirong.ledger.model import PLATFORM_BOOK, AccountKind

    a = open_wallet_account(db, "w:a")
    assert open_wallet_account(db, "w:a") == a  # opening again returns the same account

    def reopen(tx, code="w:a", **kw):  # type: ignore[no-untyped-def]
        fields = dict(book=PLATFORM_BOOK, kind=AccountKind.ASSET, name="x", opened_on=FIRST_DAY)
        fields.update(kw)
        return ledger.open_account(tx, code, **fields)  # type: ignore[arg-type]

    cases = [
        ({}, "account_exists_with_different_attributes"),
        (
            {"code": "hot", "shards": 4, "debits_must_not_exceed_credits": True},
            "hot_account_cannot_have_limits",
        ),
        ({"code": "elsewhere", "book": "no-such-book"}, "book_not_found"),
    ]
    for kw, code in cases:
        with pytest.raises(YirongError) as refused:
            db.run(lambda tx, kw=kw: reopen(tx, **kw))
        assert refused.value.code == code
