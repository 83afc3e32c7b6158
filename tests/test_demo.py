"""``make demo``'s story, on both databases: what it claims is what the database holds."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import func, select

from tests.databases import BACKENDS, fresh_database
from yirong.agents.tables import Agent
from yirong.books.service import bank_accounts, business_date_of
from yirong.demo.bank import RESERVE_NUMBER
from yirong.demo.scenario import run_demo
from yirong.demo.signins import create_signins
from yirong.features.service import latest_as_of
from yirong.features.tables import AgentFeatures
from yirong.infra.db import Database, Tx
from yirong.ledger.tables import LedgerAccount, LedgerBalance, LedgerEntry, LedgerPosting
from yirong.loans.tables import Drawdown, Repayment
from yirong.reconciliation.exceptions import list_exceptions
from yirong.reconciliation.tables import BankLine
from yirong.wallets.tables import CommissionFile, Wallet, WalletFreeze


def count_features(tx: Tx, month: date | None) -> int:
    return (
        tx.conn.scalar(
            select(func.count()).select_from(AgentFeatures).where(AgentFeatures.as_of == month)
        )
        or 0
    )


REFUSED = (
    "licence_forbids_loans",
    "product_above_rate_cap",
    "credit_already_engaged",
    "offer_not_yours",
    "consent_required",
    "firm_details_mismatch",
    "consent_withdrawn",
)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_demo_plays_every_flow_and_its_claims_are_the_records(
    backend: str, tmp_path: Path
) -> None:
    db = fresh_database(backend, tmp_path)
    try:
        result = run_demo(db, agents=150, days=75, seed=7, console=Console(quiet=True))
        counts = result.counts
        assert result.verify_ok
        # The marketplace, as in issue 3.
        assert counts["agents"] == 150
        assert counts["agents_with_competing_offers"] > 0
        assert counts["offers_added_by_rerun"] == 0
        assert counts["most_active_lines_for_one_agent"] == 1
        assert counts["consents_on_record"] >= counts["agents_opted_in"]
        for code in REFUSED:
            assert result.refusals[code] >= 1, code
        # Every flow of the lending months happened, counted from the records.
        for flow in ("drawdowns", "repayments", "overdue", "sweeps", "exceptions"):
            assert counts[flow] > 0, flow
        assert counts["freezes_for_overdue"] >= counts["overdue"] > 0
        assert counts["unfreezes"] > 0
        # The second product: each financed order's supplier paid once, as the bank
        # shows; one order partly returned (refunded through the bank), one defaulted
        # (its margin taken to the debt), the rest repaid and their margins released.
        assert counts["orders_financed"] == counts["supplier_payouts"] >= 3
        assert counts["orders_refunded_in_part"] == 1 and counts["orders_defaulted"] == 1
        assert counts["order_margins_released"] == counts["orders_financed"] - 1
        for code in ("order_taken", "advance_over_rate", "payout_gate_failed"):
            assert result.refusals[code] == 1, code
        # The sign-ins the demo prints: one each, the order financing's agent among them.
        signins = create_signins(db)
        names = [s.username for s in signins if s.username is not None]
        assert len(names) == len(set(names))
        assert any("订单融资" in s.note for s in signins if s.role == "agent")
        assert any(s.acts_for == "F05" for s in signins)
        # Six-instalment loans: one missed an instalment, fell overdue and recovered.
        assert counts["instalment_loans"] > 0 and counts["instalments_paid"] > 0
        assert counts["instalments_overdue"] >= counts["instalment_loans_recovered"] >= 1
        assert counts["repayments_reversed"] == 1
        assert counts["eod_runs"] == 75
        assert counts["statements"] == 6  # 3 funders x 2 month ends (January, February)
        _the_bank_is_the_only_source_of_money(db, result.counts)
        assert result.bank_agrees and result.unbooked_fen == 0
        assert result.reserve_fen == result.bank_fen > 0
        opened = {kind: n for kind, (n, _) in result.exceptions_by_kind.items()}
        for kind in ("unknown", "duplicate", "notice_unfunded", "payment_not_debited"):
            assert opened.get(kind, 0) > 0, kind
        with_db = db.run(records, readonly=True)
        assert with_db["business_date"] == date(2026, 1, 5) + timedelta(days=75)
        share_owed = with_db["share_owed"]
        assert isinstance(share_owed, int)
        # The platform's share booked is what the funders owe of it, and what was kept
        # back from the payouts of a funder that nets it (F03).
        assert counts["revenue_share_fen"] == share_owed + with_db["share_netted"] > 0
        assert with_db["share_netted"] > 0
        assert counts["sweeps"] == with_db["sweeps"]
        # Every overdue loan's wallet is frozen; a frozen-for-overdue wallet owes.
        assert with_db["overdue_agents"] == with_db["frozen_for_overdue"]
        month = db.run(latest_as_of, readonly=True)
        assert db.run(lambda tx: count_features(tx, month), readonly=True) == 150
    finally:
        db.dispose()


def _the_bank_is_the_only_source_of_money(db: Database, counts: Counter[str]) -> None:
    """The reconciliation's figures agree with its records; every credited loan,
    commission file and top-up was paid by a matched line of the bank's statements."""
    assert [a.number for a in bank_accounts(db)] == [RESERVE_NUMBER]
    seen = db.run(bank_records, readonly=True)
    # Each line the bank printed once ended somewhere; a line given again added nothing.
    ended = (
        counts["matched_lines"]
        + counts["partial_lines"]
        + counts["exception_lines"]
        + counts["returned_lines"]
    )
    assert ended == counts["statement_lines"] - counts["duplicate_lines"] == seen["lines"]
    assert counts["duplicate_lines"] > 0  # the bank's export over two days
    assert counts["matched_lines"] > counts["exceptions"] > 0
    # Every credited drawdown was paid by matched lines quoting it: one line each,
    # but for the order paid in two parts (and two orders paid by one line).
    credited: dict[str, int] = seen["credited"]
    paid_by: dict[str, list[int]] = seen["paid_by"]
    assert set(paid_by) == set(credited)
    assert counts["fundings_matched"] == sum(map(len, paid_by.values())) - seen["shared"]
    for ref, amounts in paid_by.items():
        assert sum(amounts) == credited[ref], ref
    assert sorted(len(a) for a in paid_by.values() if len(a) > 1) == [2]
    assert seen["shared"] == 1
    # No wallet was credited but by a matched line: top-ups and commission files.
    assert seen["top_up_fen"] == seen["top_up_lines_fen"] > 0
    assert seen["commission_fen"] == seen["commission_lines_fen"] > 0
    assert counts["commission_files_paid"] == seen["commission_files"]
    assert counts["commission_files"] == seen["commission_files"]
    # The queue as an operator sees it: what is open is listed.
    listed = list_exceptions(db)
    assert len(listed) == counts["recon_exceptions_open"] > 0
    assert counts["recon_exceptions"] > counts["recon_exceptions_open"]
    assert counts["recon_approvals"] > 0  # a second operator's, on the largest


def bank_records(tx: Tx) -> dict[str, Any]:
    credited = dict(
        tx.conn.execute(
            select(Drawdown.order_ref, Drawdown.amount).where(
                (Drawdown.credited_on.is_not(None)) | Drawdown.status.in_(("funded", "escrowed"))
            )
        ).all()
    )
    paid_by: dict[str, list[int]] = {}
    shared = 0
    for refs, amount in tx.conn.execute(
        select(BankLine.target_ref, BankLine.amount).where(
            BankLine.status == "matched", BankLine.target == "order"
        )
    ):
        named = (refs or "").split(",")
        if len(named) > 1:  # one line for several orders: each had its whole amount
            shared += 1
            assert amount == sum(credited[r] for r in named)
            for ref in named:
                paid_by.setdefault(ref, []).append(credited[ref])
        else:
            paid_by.setdefault(named[0], []).append(amount)
    return {
        "lines": tx.conn.scalar(select(func.count()).select_from(BankLine)),
        "credited": credited,
        "paid_by": paid_by,
        "shared": shared,
        "top_up_fen": _credited_to_wallets(tx, "wallet.top_up"),
        "top_up_lines_fen": _matched_fen(tx, "wallet"),
        "commission_fen": _credited_to_wallets(tx, "wallet.commission"),
        "commission_lines_fen": _matched_fen(tx, "commission"),
        "commission_files": tx.conn.scalar(
            select(func.count())
            .select_from(CommissionFile)
            .where(CommissionFile.state == "applied")
        ),
    }


def _credited_to_wallets(tx: Tx, code: str) -> int:
    wallets = select(LedgerAccount.id).where(LedgerAccount.code.like("wallet:%"))
    return int(
        tx.conn.scalar(
            select(func.coalesce(func.sum(LedgerPosting.amount), 0))
            .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
            .where(
                LedgerEntry.code == code,
                LedgerPosting.side == "C",
                LedgerPosting.account_id.in_(wallets),
            )
        )
        or 0
    )


def _matched_fen(tx: Tx, target: str) -> int:
    return int(
        tx.conn.scalar(
            select(func.coalesce(func.sum(BankLine.amount), 0)).where(
                BankLine.status == "matched", BankLine.target == target
            )
        )
        or 0
    )


def records(tx: Tx) -> dict[str, object]:
    share_accounts = select(LedgerAccount.id).where(LedgerAccount.code.like("share:%"))
    owed = tx.session.scalar(
        select(
            func.coalesce(func.sum(LedgerBalance.debits_posted - LedgerBalance.credits_posted), 0)
        ).where(LedgerBalance.account_id.in_(share_accounts))
    )
    overdue_agents = set(
        tx.session.scalars(select(Drawdown.agent_id).where(Drawdown.status == "overdue"))
    )
    frozen = set(
        tx.session.scalars(
            select(Wallet.owner_code)
            .join(WalletFreeze, WalletFreeze.wallet_id == Wallet.id)
            .where(WalletFreeze.reason == "overdue", WalletFreeze.lifted_on.is_(None))
        )
    )
    codes = set(tx.session.scalars(select(Agent.code).where(Agent.id.in_(overdue_agents))))
    netted = tx.session.scalar(
        select(func.coalesce(func.sum(LedgerPosting.amount), 0))
        .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
        .where(
            LedgerEntry.code == "loan.revenue_share_netted",
            LedgerPosting.side == "C",
            LedgerPosting.account_id.in_(share_accounts),
        )
    )
    return {
        "business_date": business_date_of(tx),
        "share_owed": int(owed or 0),
        "share_netted": int(netted or 0),
        "sweeps": tx.session.scalar(
            select(func.count()).select_from(Repayment).where(Repayment.kind == "sweep")
        ),
        "overdue_agents": codes,
        "frozen_for_overdue": frozen,
    }
