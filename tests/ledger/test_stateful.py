"""Random sequences of every wallet operation, against a plain in-memory model.

After every step the books must verify and every wallet must match the model:
balance, money held, state and freezes; the reserve account and suspense must be
what the bank's statements did. Keys are reused on purpose (true retries, and the
same key for another request), amounts are sometimes bad, the bank pays or refuses
withdrawals (and now and then pays one twice, or one it refused), commission files
overlap and are paid by the carrier, wallets freeze and unfreeze."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from tests.bank import Bank, line_outcome, pay_out
from tests.databases import fresh_database
from yirong.books.service import CARRIER, RESERVE, SUSPENSE, advance_business_date, open_books
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.ledger import service as ledger
from yirong.ledger.model import AccountState
from yirong.ledger.verify import verify
from yirong.wallets import service as wallets
from yirong.wallets.commissions import import_commissions

WALLETS = ("A1", "A2", "A3")
REASONS = ("risk", "legal_order")
START = date(2026, 1, 5)
# amounts no movement may carry -> the refusal each gives
BAD_AMOUNTS = {0: "amount_zero", -7: "amount_negative", 10**15 + 1: "amount_too_large"}
amounts = st.one_of(st.integers(1, 5_000), st.sampled_from(sorted(BAD_AMOUNTS)))
new_keys = st.uuids().map(lambda u: f"k-{u.hex[:12]}")


@dataclass
class Hold:
    wallet: str
    amount: int


@dataclass
class Model:
    balance: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WALLETS, 0))
    freezes: dict[str, set[str]] = field(default_factory=lambda: {w: set() for w in WALLETS})
    holds: dict[int, Hold] = field(default_factory=dict)  # open withdrawals
    # withdrawal -> how the bank answered it (settled or failed), and its amount
    paid_or_failed: dict[int, tuple[str, int]] = field(default_factory=dict)
    reserve: int = 0
    suspense: int = 0  # (signed) what the bank did that matched nothing
    carrier: int = 0
    day: date = START
    # key -> (request signature, None if it succeeded, else the refusal recorded)
    keys: dict[str, tuple[tuple[Any, ...], str | None]] = field(default_factory=dict)
    commissions: dict[tuple[str, str], int] = field(default_factory=dict)
    files: set[bytes] = field(default_factory=set)

    def held(self, wallet: str) -> int:
        return sum(h.amount for h in self.holds.values() if h.wallet == wallet)

    def available(self, wallet: str) -> int:
        return self.balance[wallet] - self.held(wallet)


class LedgerMachine(RuleBasedStateMachine):
    backend = "sqlite"
    keys = Bundle("keys")
    withdrawals = Bundle("withdrawals")

    @initialize()
    def open(self) -> None:
        self.db: Database = fresh_database(self.backend)
        open_books(self.db, START)
        wallets.open_wallets(self.db, [(w, f"Shop {w}") for w in WALLETS])
        self.model = Model()

    def teardown(self) -> None:
        if hasattr(self, "db"):
            self.db.dispose()

    # ------------------------------------------------------------ the protocol

    def attempt(
        self,
        signature: tuple[Any, ...],
        key: str,
        call: Any,
        effect: Any,
        refusal: str | None,
        amount: int | None = None,
    ) -> Any:
        """Run ``call`` and check its outcome against the model. ``refusal`` is what
        the books should say to a new key (None: it succeeds, then ``effect`` runs)."""
        if amount in BAD_AMOUNTS:
            with pytest.raises(YirongError) as bad:
                call()
            assert bad.value.code == BAD_AMOUNTS[amount]
            return None
        earlier = self.model.keys.get(key)
        if earlier is not None:
            with_same = earlier[0] == signature
            if with_same and earlier[1] is None:
                result = call()
                assert result.status == "exists"
                return result
            with pytest.raises(YirongError) as refused:
                call()
            if with_same:
                assert refused.value.code == "id_already_failed"
                assert refused.value.details["original"] == earlier[1]
            else:
                assert refused.value.code.startswith("exists_with_different"), refused.value.code
            return None
        if refusal is not None:
            with pytest.raises(YirongError) as refused:
                call()
            assert refused.value.code == refusal
            self.model.keys[key] = (signature, refusal)
            return None
        result = call()
        assert result.status == "created"
        self.model.keys[key] = (signature, None)
        effect(result)
        return result

    def debit_refusal(self, wallet: str, amount: int) -> str | None:
        if self.model.freezes[wallet]:
            return "account_frozen"
        if amount > self.model.available(wallet):
            return "exceeds_credits"
        return None

    # ------------------------------------------------------------ keys

    @rule(target=keys, key=new_keys)
    def new_key(self, key: str) -> str:
        return key

    # ------------------------------------------------------------ money

    @rule(wallet=st.sampled_from(WALLETS), amount=amounts, key=keys)
    def top_up(self, wallet: str, amount: int, key: str) -> None:
        def effect(_: Any) -> None:
            self.model.balance[wallet] += amount
            self.model.reserve += amount

        self.attempt(
            ("top_up", wallet, amount),
            key,
            lambda: wallets.credit_from_bank(self.db, wallet, amount, key),
            effect,
            None,
            amount,
        )

    @rule(wallet=st.sampled_from(WALLETS), amount=amounts, key=keys)
    def pay_carrier(self, wallet: str, amount: int, key: str) -> None:
        def effect(_: Any) -> None:
            self.model.balance[wallet] -= amount
            self.model.carrier += amount

        self.attempt(
            ("carrier", wallet, amount),
            key,
            lambda: wallets.pay_carrier(self.db, wallet, amount, key),
            effect,
            self.debit_refusal(wallet, amount),
            amount,
        )

    @rule(source=st.sampled_from(WALLETS), to=st.sampled_from(WALLETS), amount=amounts, key=keys)
    def transfer(self, source: str, to: str, amount: int, key: str) -> None:
        if source == to:
            if 0 < amount <= 10**15:
                with pytest.raises(YirongError) as refused:
                    wallets.transfer(self.db, source, to, amount, key)
                assert refused.value.code == "accounts_must_be_different"
            return

        def effect(_: Any) -> None:
            self.model.balance[source] -= amount
            self.model.balance[to] += amount

        self.attempt(
            ("transfer", source, to, amount),
            key,
            lambda: wallets.transfer(self.db, source, to, amount, key),
            effect,
            self.debit_refusal(source, amount),
            amount,
        )

    @rule(target=withdrawals, wallet=st.sampled_from(WALLETS), amount=amounts, key=keys)
    def withdraw(self, wallet: str, amount: int, key: str) -> Any:
        def effect(result: Any) -> None:
            self.model.holds[result.entry_id] = Hold(wallet, amount)

        result = self.attempt(
            ("withdraw", wallet, amount),
            key,
            lambda: wallets.request_withdrawal(self.db, wallet, amount, key),
            effect,
            self.debit_refusal(wallet, amount),
            amount,
        )
        return multiple(result.entry_id) if result is not None else multiple()

    @rule(withdrawal=withdrawals)
    def bank_pays(self, withdrawal: int) -> None:
        """The bank's statement shows the payment leave (the books follow the bank
        even when it pays what was refused or already paid: that is an exception)."""
        open_hold = self.model.holds.pop(withdrawal, None)
        amount = open_hold.amount if open_hold else self.model.paid_or_failed[withdrawal][1]
        outcome = pay_out(self.db, withdrawal)
        self.model.reserve -= amount
        if open_hold is not None:
            assert outcome == "matched"
            self.model.balance[open_hold.wallet] -= amount
            self.model.paid_or_failed[withdrawal] = ("settled", amount)
        else:
            expected = {"settled": "duplicate", "failed": "unordered_debit"}
            assert outcome == expected[self.model.paid_or_failed[withdrawal][0]]
            self.model.suspense -= amount

    @rule(withdrawal=withdrawals)
    def bank_refuses(self, withdrawal: int) -> None:
        open_hold = self.model.holds.pop(withdrawal, None)
        if open_hold is None and self.model.paid_or_failed[withdrawal][0] == "settled":
            with pytest.raises(YirongError) as refused:
                wallets.fail_withdrawal(self.db, withdrawal, reason="bank")
            assert refused.value.code == "payment_not_open"
            return
        assert wallets.fail_withdrawal(self.db, withdrawal, reason="bank").status == "failed"
        if open_hold is not None:
            self.model.paid_or_failed[withdrawal] = ("failed", open_hold.amount)

    @rule(
        rows=st.lists(
            st.tuples(
                st.sampled_from(WALLETS),
                st.sampled_from(["2025-10", "2025-11", "2025-12"]),
                st.integers(1, 9_000),
            ),
            min_size=1,
            max_size=4,
        )
    )
    def commissions(self, rows: list[tuple[str, str, int]]) -> None:
        content = ("agent,month,amount\n" + "".join(f"{w},{m},{a}\n" for w, m, a in rows)).encode()
        if content in self.model.files:
            assert import_commissions(self.db, content, "again.csv").status == "exists"
            return
        pairs = [(w, m) for w, m, _ in rows]
        if len(set(pairs)) != len(pairs) or any(p in self.model.commissions for p in pairs):
            with pytest.raises(YirongError) as refused:
                import_commissions(self.db, content, "bad.csv")
            assert refused.value.code == "commission_file_invalid"
            return
        recorded = import_commissions(self.db, content, "file.csv")
        assert recorded.status == "created"
        bank = Bank(self.db)  # the carrier pays the file's total, quoting it
        line = bank.credit(recorded.total_fen, memo=f"佣金 {recorded.reference}", name="运营商")
        bank.close_day()
        assert line_outcome(self.db, line.bank_serial) == "matched"
        self.model.files.add(content)
        for wallet, month, amount in rows:
            self.model.commissions[(wallet, month)] = amount
            self.model.balance[wallet] += amount
            self.model.reserve += amount

    # ------------------------------------------------------------ state

    @rule(wallet=st.sampled_from(WALLETS), reason=st.sampled_from(REASONS))
    def freeze(self, wallet: str, reason: str) -> None:
        wallets.freeze(self.db, wallet, reason, note="test", actor="machine")
        self.model.freezes[wallet].add(reason)
        if reason == "legal_order":  # the withdrawals not yet sent to the bank are cancelled
            for withdrawal, hold in list(self.model.holds.items()):
                if hold.wallet == wallet:
                    del self.model.holds[withdrawal]
                    self.model.paid_or_failed[withdrawal] = ("failed", hold.amount)

    @rule(wallet=st.sampled_from(WALLETS), reason=st.sampled_from(REASONS))
    def unfreeze(self, wallet: str, reason: str) -> None:
        if reason in self.model.freezes[wallet]:
            wallets.unfreeze(self.db, wallet, reason, note="test", actor="machine")
            self.model.freezes[wallet].discard(reason)
        else:
            with pytest.raises(YirongError) as refused:
                wallets.unfreeze(self.db, wallet, reason, note="test", actor="machine")
            assert refused.value.code == "wallet_not_frozen"

    @rule()
    def next_day(self) -> None:
        self.model.day += timedelta(days=1)
        self.db.run(lambda tx: advance_business_date(tx, self.model.day))

    # ------------------------------------------------------------ invariants

    @invariant()
    def wallets_match_the_model(self) -> None:
        if not hasattr(self, "model"):
            return
        for wallet in WALLETS:
            view = wallets.wallet(self.db, wallet)
            frozen = bool(self.model.freezes[wallet])
            assert (view.balance, view.held, view.available) == (
                self.model.balance[wallet],
                self.model.held(wallet),
                self.model.available(wallet),
            )
            assert view.state is (AccountState.DEBIT_BLOCKED if frozen else AccountState.ACTIVE)
            assert set(view.freezes) == self.model.freezes[wallet]
        house = self.db.run(
            lambda tx: tuple(
                ledger.balance_of(tx, ledger.account_by_code(tx, code)).balance
                for code in (RESERVE, CARRIER, SUSPENSE)
            ),
            readonly=True,
        )
        assert house == (self.model.reserve, self.model.carrier, self.model.suspense)

    @invariant()
    def books_verify(self) -> None:
        if hasattr(self, "db"):
            report = verify(self.db)
            assert report.ok, {c.name: c.problems for c in report.checks if not c.ok}


MACHINE_SETTINGS = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class SqliteLedgerMachine(LedgerMachine):
    backend = "sqlite"


class PostgresLedgerMachine(LedgerMachine):
    backend = "postgresql"


TestSqliteLedger = SqliteLedgerMachine.TestCase
TestSqliteLedger.settings = MACHINE_SETTINGS
TestPostgresLedger = PostgresLedgerMachine.TestCase
TestPostgresLedger.settings = MACHINE_SETTINGS

__all__ = ["TestPostgresLedger", "TestSqliteLedger"]
