"""Eight workers on PostgreSQL doing transfers, top-ups, withdrawals and freezes on a
few wallets, so that they collide on the same rows (and on the same keys).

Afterwards the books verify, no wallet is below zero, and every balance equals what
the acknowledged operations add up to: each one present exactly once, nothing else."""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import select, text

from tests.bank import pay_out
from tests.ledger.helpers import assert_books_balance
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.payments.tables import Payment
from yirong.wallets import service as wallets

WALLETS = [f"C{n}" for n in range(4)]
WORKERS = 8
OPS_PER_WORKER = 120
OPENING = 50_000
# Refusals the books may give under this load; anything else fails the test.
EXPECTED_REFUSALS = {
    "exceeds_credits",
    "account_frozen",
    "pending_entry_already_posted",
    "pending_entry_already_voided",
    "wallet_not_frozen",
    "id_already_failed",
}


def cancelled_by_legal_order(db: Database, withdrawal_id: int) -> bool:
    status, note = db.run(
        lambda tx: tx.conn.execute(
            select(Payment.status, Payment.note).where(Payment.hold_entry_id == withdrawal_id)
        ).one()
    )
    return status == "failed" and (note or "").startswith("cancelled: legal order")


@dataclass(frozen=True)
class Ack:
    kind: str
    key: str
    source: str | None
    target: str | None
    amount: int
    entry_id: int


def test_eight_workers_collide_and_nothing_is_lost_or_doubled(pg: Database) -> None:
    wallets.open_wallets(pg, [(w, w) for w in WALLETS])
    for w in WALLETS:
        wallets.credit_from_bank(pg, w, OPENING, f"open-{w}")
    acks: list[Ack] = []
    refusals: Counter[str] = Counter()
    unexpected: list[BaseException] = []
    lock = threading.Lock()
    shared_keys = [f"shared-{n}" for n in range(30)]  # the same key from several workers

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        withdrawals: list[tuple[int, str, int]] = []
        for n in range(OPS_PER_WORKER):
            key = rnd.choice(shared_keys) if rnd.random() < 0.1 else f"w{seed}-{n}"
            source, target = rnd.sample(WALLETS, 2)
            amount = rnd.randint(1, 4_000)
            choice = rnd.random()
            try:
                if choice < 0.35:
                    # A shared key always carries the same request, as a client retry would.
                    if key.startswith("shared"):
                        source, target, amount = WALLETS[0], WALLETS[1], 7
                    result = wallets.transfer(pg, source, target, amount, key)
                    ack = Ack("transfer", key, source, target, amount, result.entry_id)
                elif choice < 0.55:
                    key = f"top-{seed}-{n}"
                    result = wallets.credit_from_bank(pg, target, amount, key)
                    ack = Ack("top_up", key, None, target, amount, result.entry_id)
                elif choice < 0.70:
                    key = f"wd-{seed}-{n}"
                    result = wallets.request_withdrawal(pg, source, amount, key)
                    withdrawals.append((result.entry_id, source, amount))
                    ack = Ack("hold", key, source, None, amount, result.entry_id)
                elif choice < 0.85 and withdrawals:
                    entry, wallet, held = withdrawals.pop(rnd.randrange(len(withdrawals)))
                    # The bank pays most of them (its statement imported while the
                    # others keep moving money) and refuses a few.
                    if rnd.random() < 0.7:
                        outcome = pay_out(pg, entry)
                        if outcome == "matched":
                            ack = Ack("paid", f"YP{entry:012d}:settled", wallet, None, held, 0)
                        else:
                            # A legal order froze the wallet first and cancelled the
                            # withdrawal: the bank's debit is an exception, in suspense.
                            assert outcome == "unordered_debit"
                            assert cancelled_by_legal_order(pg, entry)
                            ack = Ack("released", f"YP{entry:012d}:failed", wallet, None, held, 0)
                    else:
                        assert wallets.fail_withdrawal(pg, entry, reason="bank").status == "failed"
                        ack = Ack("released", f"YP{entry:012d}:failed", wallet, None, held, 0)
                else:
                    reason = rnd.choice(["risk", "legal_order"])
                    if rnd.random() < 0.5:
                        wallets.freeze(pg, source, reason, note="load", actor=f"w{seed}")
                    else:
                        wallets.unfreeze(pg, source, reason, note="load", actor=f"w{seed}")
                    continue
            except YirongError as exc:
                with lock:
                    refusals[exc.code] += 1
                    if exc.code not in EXPECTED_REFUSALS:
                        unexpected.append(exc)
                continue
            except BaseException as exc:
                with lock:
                    unexpected.append(exc)
                continue
            with lock:
                acks.append(ack)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert unexpected == []
    assert refusals["exceeds_credits"] + refusals["account_frozen"] > 0  # they did collide

    # Every acknowledged operation is present exactly once, under its own key.
    unique = {a.key: a for a in acks}
    for key, ack in unique.items():
        assert {a.entry_id for a in acks if a.key == key} == {ack.entry_id}
    stored = dict(
        pg.run(
            lambda tx: tx.conn.execute(
                text("SELECT idempotency_key, id FROM ledger_entries WHERE phase <> 'rejected'")
            ).all()
        )
    )
    for key, ack in unique.items():
        if ack.entry_id:
            assert stored[key] == ack.entry_id
        else:  # the bank's answer: its own entry, keyed by the payment
            assert key in stored

    # Balances are exactly the sum of acknowledged movements.
    expected: dict[str, int] = defaultdict(int, {w: OPENING for w in WALLETS})
    open_holds: dict[str, int] = defaultdict(int)
    for ack in unique.values():
        if ack.kind == "transfer":
            expected[ack.source or ""] -= ack.amount
            expected[ack.target or ""] += ack.amount
        elif ack.kind == "top_up":
            expected[ack.target or ""] += ack.amount
        elif ack.kind == "hold":
            answered = f"YP{ack.entry_id:012d}:settled" in unique or (
                f"YP{ack.entry_id:012d}:failed" in unique
            )
            # A withdrawal nobody answered is still held, unless a legal order cancelled it.
            if answered or not cancelled_by_legal_order(pg, ack.entry_id):
                open_holds[ack.source or ""] += ack.amount
        elif ack.kind == "paid":
            expected[ack.source or ""] -= ack.amount
            open_holds[ack.source or ""] -= ack.amount
        elif ack.kind == "released":
            open_holds[ack.source or ""] -= ack.amount
    for w in WALLETS:
        view = wallets.wallet(pg, w)
        assert view.balance == expected[w]
        assert view.held == open_holds[w]
        assert view.balance >= 0 and view.available >= 0
    assert_books_balance(pg)
