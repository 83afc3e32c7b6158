"""Random sequences of the loans' operations: drawdown orders (some retried, some
refused), the funder's money matched or not, repayments of an amount or of all that
is owed, top-ups, commissions and spending, cancellations, and days closed by the end
of day (loans fall overdue, wallets are frozen and swept).

After every step the books verify and the loans agree with them: a loan's principal
outstanding and paid make its amount; a wallet is frozen for an overdue loan exactly
while its agent owes on one; the revenue share booked is the sum of the repayments'
shares; each funder's memo book holds the principal its loans owe; suspense holds the
bank lines matched to nothing (and parts of orders paid in parts). A refusal changes
nothing. The funder's money and the carrier's commissions arrive on bank statements."""

from __future__ import annotations

import math
import shutil
import tempfile
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule
from sqlalchemy import select, text

from tests.bank import Bank, funder_account, line_outcome
from tests.loans.story import market_with_lines
from yirong.books.service import REVENUE, SUSPENSE, business_date_of
from yirong.eod.service import run_eod
from yirong.errors import YirongError
from yirong.funders.accounts import memo_account, share_account
from yirong.infra.db import Database, Tx
from yirong.ledger import service as ledger
from yirong.ledger.model import AccountState
from yirong.ledger.verify import verify
from yirong.loans.debts import owed_by
from yirong.loans.drawdowns import DrawdownView, cancel_drawdown, request_drawdown
from yirong.loans.repayments import owed_now, repay
from yirong.loans.tables import Drawdown
from yirong.reconciliation.statements import import_statement_file
from yirong.wallets import service as wallets
from yirong.wallets.commissions import import_commissions

AGENTS = 2
FUNDERS = ("T1", "T2")
agent_numbers = st.integers(0, AGENTS - 1)
# Mostly sound amounts (333,333 fen at the line's rate never gives whole fen), now
# and then one no line or wallet can take, or no amount.
sound = st.one_of(st.integers(1, 250_000), st.just(333_333))
amounts = st.one_of(sound, sound, sound, st.sampled_from([0, -5, 10**9]))
terms = st.sampled_from([7, 7, 7, 8, 14, 3, 365])  # the product takes 7 to 180 days
# Keys: a few reused on purpose (a retry, or the same key for another request).
new_keys = st.uuids().map(lambda u: u.hex[:12])
keys = st.one_of(st.sampled_from(["k1", "k2"]), new_keys)
bank_refs = st.one_of(st.sampled_from(["BANK-1", "BANK-2"]), new_keys)
LOAN_STATES = ("credited", "overdue", "repaid")
HALF = Fraction(1, 2)
HOW = ("matched", "short", "over", "other funder", "unknown")  # money for an order

_templates: dict[str, tuple[Path, list[str]]] = {}  # SQLite: one market per process


def new_market(backend: str, directory: Path) -> tuple[Database, list[str]]:
    """On SQLite a copy of a market built once (building one is most of an example's
    cost); on PostgreSQL a market built again (in the test process's own schema)."""
    if backend != "sqlite":
        market = market_with_lines(backend, directory, AGENTS)
        return market.db, [a.code for a in market.agents]
    if "sqlite" not in _templates:
        template = Path(tempfile.mkdtemp(prefix="yirong-loans-market-"))
        market = market_with_lines("sqlite", template, AGENTS)
        market.db.dispose()  # the last connection checkpoints the WAL into the file
        assert not (template / "yirong.db-wal").exists()
        _templates["sqlite"] = (template / "yirong.db", [a.code for a in market.agents])
    template_file, codes = _templates["sqlite"]
    shutil.copyfile(template_file, directory / "yirong.db")
    # Durability is not under test here: the copy is thrown away after the example.
    return Database(f"sqlite:///{directory / 'yirong.db'}", sqlite_synchronous="OFF"), codes


def balance(tx: Tx, code: str) -> int:
    return ledger.balance_of(tx, ledger.account_by_code(tx, code)).balance


class LoansMachine(RuleBasedStateMachine):
    backend: str
    orders = Bundle("orders")  # as requested (most still waiting for money)
    loans = Bundle("loans")  # requested and funded at once

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="yirong-loans-"))
        self.db, self.codes = new_market(self.backend, self.directory)
        self.repaid_with: dict[tuple[int, str], int] = {}  # (agent, key) -> amount repaid

    @initialize(
        target=loans,
        loans=st.lists(
            st.tuples(sound, st.sampled_from([7, 8]), st.sampled_from([True, True, False])),
            min_size=AGENTS,
            max_size=AGENTS,
        ),
    )
    def first_loans(self, loans: list[tuple[int, int, bool]]) -> Any:
        """Each agent starts with a loan (most examples would spend their steps
        getting there), and perhaps nothing left in its wallet."""
        orders = [
            self.borrow(agent, amount, term, f"first-{agent}", spend)
            for agent, (amount, term, spend) in enumerate(loans)
        ]
        assert all(isinstance(order, tuple) for order in orders)  # well within the lines
        return multiple(*orders)

    def teardown(self) -> None:
        self.db.dispose()
        shutil.rmtree(self.directory, ignore_errors=True)

    # ------------------------------------------------------------ the protocol

    def state(self) -> tuple[Any, ...]:
        """What a refusal must leave as it was: money moved, loans, receipts, freezes."""

        def read(tx: Tx) -> tuple[Any, ...]:
            counts = tx.conn.execute(
                text(
                    "SELECT (SELECT COUNT(*) FROM ledger_entries WHERE phase <> 'rejected'),"
                    " (SELECT COUNT(*) FROM ledger_postings),"
                    " (SELECT COUNT(*) FROM repayments),"
                    " (SELECT COUNT(*) FROM bank_lines),"
                    " (SELECT COUNT(*) FROM wallet_freezes),"
                    " (SELECT COUNT(*) FROM ledger_state_changes)"
                )
            ).one()
            loans = tx.conn.execute(
                text("SELECT id, status, principal, interest_paid FROM drawdowns ORDER BY id")
            ).all()
            return (*counts, tuple(map(tuple, loans)))

        return self.db.run(read, readonly=True)

    def attempt(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        """Run the use case; a refusal (YirongError) is allowed and changes nothing."""
        return self.outcome(call, *args, **kwargs)[0]

    def outcome(self, call: Any, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
        """The use case's answer, or its refusal's code (a refusal changes nothing)."""
        before = self.state()
        try:
            return call(self.db, *args, **kwargs), None
        except YirongError as exc:
            assert self.state() == before, f"{call.__name__} refused ({exc.code}) yet changed"
            event(f"refused: {exc.code}")
            return None, exc.code

    def wallet(self, agent: int) -> wallets.WalletView:
        return wallets.wallet(self.db, f"agent:{self.codes[agent]}")

    # ------------------------------------------------------------ drawdowns

    @rule(
        target=orders,
        agent=agent_numbers,
        amount=amounts,
        term=terms,
        key=keys,
        then=st.sampled_from([None, *HOW]),
    )
    def request(self, agent: int, amount: int, term: int, key: str, then: str | None) -> Any:
        """An order; perhaps money for it at once (the funder's, or money that only
        looks like it: short, over, from another funder, quoting no order)."""
        order = self.attempt(request_drawdown, self.codes[agent], amount, term, key)
        if order is None:
            return multiple()
        assert (order.amount, order.term_days) == (amount, term)
        assert order.status == "requested" or order.outcome == "exists"
        if then is not None:
            self.fund((agent, order), then, f"bank-{key}-{then}")
        return (agent, order)

    @rule(
        target=loans,
        agent=agent_numbers,
        amount=sound,
        term=terms,
        key=new_keys,
        spend=st.booleans(),
    )
    def borrow(self, agent: int, amount: int, term: int, key: str, spend: bool) -> Any:
        """The common path: an order, its funder's money for it straight away, and
        perhaps all the wallet holds spent on stock (nothing left to sweep)."""
        order = self.request(agent, amount, term, key, "matched")
        if spend:
            self.spend(agent, 1.0, f"spend-{key}")
        return order

    @rule(
        order=st.one_of(orders, loans),
        how=st.sampled_from(["matched", *HOW]),
        bank_ref=bank_refs,
    )
    def fund(self, order: tuple[int, DrawdownView], how: str, bank_ref: str) -> None:
        """The bank's statement shows money quoting the order (or not quite): a line
        given again with the same serial is the same line; with another amount the
        whole statement is refused."""
        agent, view = order
        due = view.amount - self.paid_in_parts(view.order_ref)
        amount = due + {"short": -1, "over": 1}.get(how, 0)
        funder = "T2" if how == "other funder" else "T1"
        reference = "YR-NO-SUCH-ORDER" if how == "unknown" else view.order_ref
        before, wallet_before = self.state(), self.wallet(agent).balance
        loan = self.loan(view.id)
        bank = Bank(self.db)
        bank.credit(
            amount, memo=reference, account=funder_account(self.db, funder), serial=bank_ref
        )
        content = bank.statement_bytes()
        result = self.attempt(import_statement_file, content, filename=f"{bank_ref}.csv")
        if result is None:
            return
        after = self.state()
        if result.new == 0:  # the same statement line again
            assert after == before
            return
        outcome = line_outcome(self.db, bank_ref)
        event(f"funding: {outcome}")
        # Matched exactly when the money is a live order's, in time, from its funder;
        # part of it waits for the rest.
        live = loan.status == "requested" and loan.fund_by >= self.today()
        assert (outcome == "matched") == (how == "matched" and live), (outcome, loan)
        assert (outcome == "partial") == (how == "short" and live and amount > 0), (outcome, loan)
        if outcome == "matched":
            assert self.loan(view.id).status == "credited"
            assert self.wallet(agent).balance == wallet_before + view.amount - view.fee
        else:
            assert self.loan(view.id).status == loan.status
            assert self.wallet(agent).balance == wallet_before  # it never reaches the wallet

    def paid_in_parts(self, order_ref: str) -> int:
        return int(
            self.db.run(
                lambda tx: tx.conn.execute(
                    text(
                        "SELECT COALESCE(SUM(amount), 0) FROM bank_lines"
                        " WHERE status = 'partial' AND target_ref = :ref"
                    ),
                    {"ref": order_ref},
                ).scalar_one()
            )
        )

    @rule(order=st.one_of(orders, loans))
    def cancel(self, order: tuple[int, DrawdownView]) -> None:
        """An order no money has come for is cancelled; anything else is refused."""
        agent, view = order
        waiting = self.loan(view.id).status == "requested"
        cancelled, code = self.outcome(cancel_drawdown, self.codes[agent], view.id)
        assert code == (None if waiting else "drawdown_not_pending"), (code, view)
        if cancelled is not None:
            assert cancelled.status == "cancelled"

    # ------------------------------------------------------------ money in and out

    @rule(agent=agent_numbers, amount=st.one_of(st.none(), amounts), key=keys)
    def repay(self, agent: int, amount: int | None, key: str) -> None:
        before = self.wallet(agent).balance
        expected = self.repayment_expected(agent, amount, key)
        repaid, code = self.outcome(repay, self.codes[agent], amount, key)
        assert (code or repaid.outcome) == expected, (code, repaid, expected)
        if repaid is None or repaid.outcome == "exists":
            return
        self.repaid_with[agent, key] = repaid.amount
        event(f"repaid: {'all' if amount is None else 'an amount'}")
        assert repaid.amount == repaid.penalty + repaid.interest + repaid.principal
        assert self.wallet(agent).balance == before - repaid.amount
        if amount is None:
            assert owed_now(self.db, self.codes[agent]) == []

    def repayment_expected(self, agent: int, amount: int | None, key: str) -> str:
        """What a repayment must answer, from what the agent owes and holds: the
        repayment made with this key again, or the one refusal that applies, or done."""
        earlier = self.repaid_with.get((agent, key))
        if earlier is not None:
            return "exists" if amount in (None, earlier) else "exists_with_different_amount"
        if amount is not None and amount <= 0:
            return "amount_zero" if amount == 0 else "amount_negative"
        owed = sum(o.total for o in owed_now(self.db, self.codes[agent]))
        if owed == 0:
            return "nothing_owed"
        if amount is not None and amount > owed:
            return "exceeds_owed"
        if (owed if amount is None else amount) > self.wallet(agent).available:
            return "exceeds_credits"
        return "created"

    @rule(agent=agent_numbers, amount=amounts, key=keys)
    def top_up(self, agent: int, amount: int, key: str) -> None:
        frozen = "overdue" in self.wallet(agent).freezes
        credited = self.attempt(wallets.credit_from_bank, f"agent:{self.codes[agent]}", amount, key)
        if credited and frozen:
            event("a top-up into a wallet frozen for an overdue loan")

    @rule(agent=agent_numbers, amount=st.integers(1, 3_000_000), month=st.integers(10, 12))
    def commission(self, agent: int, amount: int, month: int) -> None:
        rows = f"agent,month,amount\n{self.codes[agent]},2025-{month:02d},{amount}\n"
        frozen = "overdue" in self.wallet(agent).freezes
        recorded = self.attempt(import_commissions, rows.encode(), f"{agent}-{month}.csv")
        if recorded is None or recorded.status != "created":
            return
        bank = Bank(self.db)  # the carrier pays the file's total, quoting it
        bank.credit(recorded.total_fen, memo=f"佣金 {recorded.reference}", name="运营商")
        bank.close_day()
        if frozen:
            event("a commission into a wallet frozen for an overdue loan")

    @rule(agent=agent_numbers, share=st.sampled_from([0.5, 1.0]), key=keys)
    def spend(self, agent: int, share: float, key: str) -> None:
        amount = int(self.wallet(agent).available * share)
        self.attempt(wallets.pay_carrier, f"agent:{self.codes[agent]}", amount, key)

    # ------------------------------------------------------------ the end of day

    @rule(days=st.sampled_from([1, 2, 8, 9, 10]))
    def close_days(self, days: int) -> None:
        for _ in range(days):
            today = self.today()
            report = run_eod(self.db)
            assert report.business_date == today and report.skipped == []
            assert self.today() > today
            overdue = report.done["overdue"]
            if overdue["loans"]:
                event(f"overdue: {overdue['loans']} loans, {overdue['swept']} swept")
            # What the end of day accrued in all is, to the fen, what the loans charged.
            charged = self.db.run(interest_to_the_fen, readonly=True)
            accrued = self.db.run(
                lambda tx: sum(balance(tx, memo_account(f, "income")) for f in FUNDERS),
                readonly=True,
            )
            assert accrued == sum(i + p for i, p in charged.values()), (accrued, charged)

    # ------------------------------------------------------------ helpers

    def today(self) -> Any:
        return self.db.run(business_date_of, readonly=True)

    def loan(self, drawdown_id: int) -> Drawdown:
        found = self.db.run(lambda tx: tx.session.get(Drawdown, drawdown_id), readonly=True)
        assert found is not None
        return found

    # ------------------------------------------------------------ invariants

    @invariant()
    def books_verify(self) -> None:
        report = verify(self.db)
        assert report.ok, {c.name: c.problems for c in report.checks if not c.ok}

    @invariant()
    def loans_owe_interest_to_the_fen(self) -> None:
        """What each loan owes is what the test's own arithmetic says: interest and
        penalty, day by day on the principal left at each day's end, in exact
        fractions, rounded half-up once; less what its repayments paid of each."""
        charged = self.db.run(interest_to_the_fen, readonly=True)

        def check(tx: Tx) -> None:
            today = business_date_of(tx)
            for d in tx.session.scalars(select(Drawdown).where(Drawdown.id.in_(charged))):
                interest, penalty = charged[d.id]
                owed = owed_by(d, today)
                assert (owed.interest, owed.penalty) == (
                    interest - d.interest_paid,
                    penalty - d.penalty_paid,
                ), (d.id, owed, charged[d.id])

        self.db.run(check, readonly=True)

    @invariant()
    def loans_agree_with_the_books(self) -> None:
        self.db.run(self.check_loans, readonly=True)

    def check_loans(self, tx: Tx) -> None:
        today = business_date_of(tx)
        loans = list(tx.session.scalars(select(Drawdown).order_by(Drawdown.id)))
        for d in loans:
            if d.status in LOAN_STATES:
                assert d.principal + d.principal_paid == d.amount, (d.id, d.status)
            else:
                assert d.principal == d.principal_paid == 0, (d.id, d.status)
        # Frozen for an overdue loan exactly while the agent owes on one; the ledger
        # account refuses debits exactly while the wallet has a freeze.
        for agent_id, code in tx.conn.execute(text("SELECT id, code FROM agents")).all():
            owes_overdue = any(
                owed_by(d, today).total > 0
                for d in loans
                if d.agent_id == agent_id and d.status == "overdue"
            )
            freezes = set(
                tx.conn.execute(
                    text(
                        "SELECT f.reason FROM wallet_freezes f JOIN wallets w ON w.id = f.wallet_id"
                        " WHERE w.owner_type = 'agent' AND w.owner_code = :c"
                        " AND f.lifted_on IS NULL"
                    ),
                    {"c": code},
                ).scalars()
            )
            assert ("overdue" in freezes) == owes_overdue, (code, freezes, today)
            if owes_overdue:
                event("a wallet frozen for an overdue loan")
            state = ledger.balance_of(tx, wallets.wallet_account(tx, f"agent:{code}")).state
            assert (state is AccountState.DEBIT_BLOCKED) == bool(freezes), (code, state, freezes)
        # The platform's revenue share is the repayments' shares; each funder owes it
        # its own; each funder's memo book holds the principal its loans owe.
        shares = dict(
            tx.conn.execute(
                text(
                    "SELECT f.code, COALESCE(SUM(r.share), 0) FROM funders f"
                    " LEFT JOIN repayments r ON r.funder_id = f.id AND r.reversed_on IS NULL"
                    " GROUP BY f.code"
                )
            ).all()
        )
        assert balance(tx, REVENUE) == sum(shares.values()), shares
        for funder in FUNDERS:
            assert balance(tx, share_account(funder)) == shares[funder], funder
            principal = tx.conn.execute(
                text(
                    "SELECT COALESCE(SUM(d.principal), 0) FROM drawdowns d"
                    " JOIN funders f ON f.id = d.funder_id"
                    " WHERE f.code = :f AND d.status IN ('credited', 'overdue', 'repaid')"
                ),
                {"f": funder},
            ).scalar_one()
            assert balance(tx, memo_account(funder, "principal")) == principal, funder
        unmatched = tx.conn.execute(
            text(
                "SELECT COALESCE(SUM(CASE direction WHEN 'C' THEN amount ELSE -amount END), 0)"
                " FROM bank_lines WHERE suspense_entry_id IS NOT NULL"
            )
        ).scalar_one()
        assert balance(tx, SUSPENSE) == unmatched


def interest_to_the_fen(tx: Tx) -> dict[int, tuple[int, int]]:
    """Each lent drawdown's (interest, penalty) charged for the days before today, by
    the test's arithmetic: the principal at each day's end (the amount lent, less what
    each repayment paid of it from the day it was paid), times the contract rate until
    its due date (the grace days after it too) and the penalty rate after, over the day
    basis; summed exactly; rounded half-up to the fen once."""
    today = business_date_of(tx).toordinal()
    repaid: dict[int, list[tuple[int, int]]] = {}
    for day, drawdown_id, principal in tx.conn.execute(
        text(
            "SELECT r.business_date, p.drawdown_id, p.principal FROM repayment_parts p"
            " JOIN repayments r ON r.id = p.repayment_id WHERE r.reversed_on IS NULL"
        )
    ):
        on = day if isinstance(day, date) else date.fromisoformat(str(day))
        repaid.setdefault(drawdown_id, []).append((on.toordinal(), principal))
    charged = {}
    for d in tx.session.scalars(select(Drawdown).where(Drawdown.credited_on.is_not(None))):
        assert d.credited_on is not None
        start = d.credited_on.toordinal()
        late_from = start + d.term_days + d.grace_days + 1
        normal = late = Fraction(0)
        for day in range(start, today):
            left = d.amount - sum(p for on, p in repaid.get(d.id, []) if on <= day)
            if day < late_from:
                normal += Fraction(left * d.annual_rate_ppm, 10**6 * d.day_basis)
            else:
                late += Fraction(left * d.penalty_rate_ppm, 10**6 * d.day_basis)
        charged[d.id] = (math.floor(normal + HALF), math.floor(late + HALF))  # half-up
    return charged


def machine_test(backend: str, examples: int) -> Any:
    """The machine's test case on one database: fewer examples on PostgreSQL, where
    each builds its market again."""
    machine = type(f"{backend.title()}LoansMachine", (LoansMachine,), {"backend": backend})
    case = machine.TestCase
    case.settings = settings(
        max_examples=examples,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    return case


TestSqliteLoans = machine_test("sqlite", 40)
TestPostgresLoans = machine_test("postgresql", 6)
