"""``make demo``'s story, on both databases: what it claims is what the database holds."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select

from tests.databases import BACKENDS, fresh_database
from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.demo.scenario import run_demo
from yirong.features.service import latest_as_of
from yirong.features.tables import AgentFeatures
from yirong.infra.db import Tx
from yirong.ledger.tables import LedgerAccount, LedgerBalance
from yirong.loans.tables import Drawdown, Repayment
from yirong.wallets.tables import Wallet, WalletFreeze


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
        assert counts["repayments_reversed"] == 1
        assert counts["eod_runs"] == 75
        assert counts["loans_credited"] == counts["fundings_matched"]
        assert counts["statements"] == 6  # 3 funders x 2 month ends (January, February)
        with_db = db.run(records, readonly=True)
        assert with_db["business_date"] == date(2026, 1, 5) + timedelta(days=75)
        assert counts["revenue_share_fen"] == with_db["share_owed"] > 0
        assert counts["sweeps"] == with_db["sweeps"]
        # Every overdue loan's wallet is frozen; a frozen-for-overdue wallet owes.
        assert with_db["overdue_agents"] == with_db["frozen_for_overdue"]
        month = db.run(latest_as_of, readonly=True)
        assert db.run(lambda tx: count_features(tx, month), readonly=True) == 150
    finally:
        db.dispose()


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
    return {
        "business_date": business_date_of(tx),
        "share_owed": int(owed or 0),
        "sweeps": tx.session.scalar(
            select(func.count()).select_from(Repayment).where(Repayment.kind == "sweep")
        ),
        "overdue_agents": codes,
        "frozen_for_overdue": frozen,
    }
