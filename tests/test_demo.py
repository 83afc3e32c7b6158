"""``make demo``'s story, on both databases: what it claims is what the database holds."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select

from tests.databases import BACKENDS, fresh_database
from yirong.demo.scenario import run_demo
from yirong.features.service import latest_as_of
from yirong.features.tables import AgentFeatures
from yirong.infra.db import Tx


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
def test_the_demo_ends_with_competing_offers_one_line_per_agent_and_balanced_books(
    backend: str, tmp_path: Path
) -> None:
    db = fresh_database(backend, tmp_path)
    try:
        result = run_demo(db, agents=60, days=3, seed=7, console=Console(quiet=True))
        counts = result.counts
        assert result.verify_ok
        assert counts["commission_files"] == 12
        assert counts["agents_with_competing_offers"] > 0
        assert counts["offers"] >= counts["agents_with_competing_offers"] * 2
        assert counts["offers_added_by_rerun"] == 0
        assert counts["applications"] > 0
        assert counts["most_active_lines_for_one_agent"] == 1
        # every approval made a line; the agent that changed funder closed its first
        assert counts["lines_active"] == counts["applications_approved"] - counts["funder_changes"]
        # a pre-approval consent per agent that opted in, one per application
        assert counts["consents_on_record"] == counts["agents_opted_in"] + counts["applications"]
        assert counts["data_shares_logged"] >= counts["offers"] + counts["applicant_data_reads"]
        for code in REFUSED:
            assert result.refusals[code] == 1, code
        # the features the marketplace used stand for every agent, late ones included
        assert counts["agents_onboarded_late"] == 6
        month = db.run(latest_as_of, readonly=True)
        assert db.run(lambda tx: count_features(tx, month), readonly=True) == 60
    finally:
        db.dispose()
