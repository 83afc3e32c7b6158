"""The built-in scorecard runs set-based in SQL for speed; the Python Scorecard.decide
is the reference. On varied histories both must give every agent the same offer."""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.bank import credit_commissions
from tests.credit.market import advance_to
from tests.databases import BACKENDS, fresh_database
from yirong.agents.service import onboard_agents
from yirong.books.service import open_books
from yirong.credit.consents import opt_in_preapproval
from yirong.credit.preapproval import run_preapproval
from yirong.credit.tables import Offer
from yirong.demo.identities import firm
from yirong.features.service import Features
from yirong.features.tables import AgentFeatures
from yirong.funders import scorecard
from yirong.funders.service import FunderInput, ProductInput, add_product, register_funder
from yirong.money import rate_to_ppm
from yirong.policy.service import set_setting

CARD = {
    "product": "LINE",
    "term_days": 30,
    "min_tenure_months": 6,
    "max_months_without_income": 5,
    "points": {
        "per_10k_yuan_income_12m": 3,
        "per_10pct_trend": 2,
        "per_10pct_volatility": -1,
        "per_year_tenure": 2,
        "per_month_without_income": -4,
    },
    "tiers": [
        {"min_score": 60, "annual_rate": "0.25", "limit_months_of_income": "2.5"},  # above cap
        {"min_score": 30, "annual_rate": "0.0950", "limit_months_of_income": "1.5"},
        {"min_score": 0, "annual_rate": "0.1350", "limit_months_of_income": "1"},
        {"min_score": -30, "annual_rate": "0.1750", "limit_months_of_income": "0.75"},
        {"min_score": -1000, "annual_rate": "0.05", "limit_months_of_income": "1"},  # below
    ],
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_sql_and_python_scorecards_make_the_same_offers(backend: str, tmp_path: Path) -> None:
    rnd = random.Random(20260105)
    db = fresh_database(backend, tmp_path)
    open_books(db, date(2025, 1, 2))
    register_funder(
        db,
        FunderInput(
            code="S1",
            name="Scorer",
            licence="micro_loan",
            contact="x",
            settlement_bank_account="1",
            settlement_bank_name="Bank",
            revenue_share=Decimal("0.2"),
            decision_mode="scorecard",
            scorecard=json.dumps(CARD),
        ),
    )
    # The product is registered under a higher cap, which then falls to 24%: the 25% tier
    # is refused at pre-approval (above the cap), the 5% tier too (outside the product).
    # Its dearest drawdown, 7 days at 30% on 360: 5,000 yuan cost 2,917 fen, 0.005834
    # of it; 1.005834^(365/7) − 1 = 35.43% (compound, the higher): a 36% cap admits it.
    set_setting(db, "apr_cap", "0.36", effective_from=date(2025, 1, 2), set_by="test")
    add_product(
        db,
        "S1",
        ProductInput(
            code="LINE",
            name="Line",
            kind="revolving",
            method="revolving",
            min_rate=Decimal("0.09"),
            max_rate=Decimal("0.30"),
            min_limit=500_000,
            max_limit=6_000_000,
            min_term_days=7,
            max_term_days=90,
        ),
    )
    set_setting(db, "apr_cap", "0.24", effective_from=date(2025, 1, 2), set_by="test")
    firms = [firm(n, carrier_since=date(2022 + n % 3, 1 + n % 12, 1)) for n in range(40)]
    onboard_agents(db, firms)
    for month in range(1, 13):
        advance_to(db, date(2025, month, 5))
        rows = "".join(
            f"{f.code},2025-{month:02d},{rnd.randint(1, 60) * 100_000}\n"
            for f in firms
            if rnd.random() < 0.8
        )
        credit_commissions(db, f"agent,month,amount\n{rows}".encode(), f"{month}.csv")
    advance_to(db, date(2026, 1, 5))
    for f in firms[:36]:
        opt_in_preapproval(db, f.code, text_version="2026-01")

    report = run_preapproval(db)
    outcome = report.funders["S1"]
    offers = db.run(
        lambda tx: {
            o.agent_id: (o.credit_limit, o.annual_rate_ppm, o.term_days)
            for o in tx.session.scalars(select(Offer))
        }
    )
    features = db.run(
        lambda tx: {
            row.agent_id: Features.of(row) for row in tx.session.scalars(select(AgentFeatures))
        }
    )
    card = scorecard.parse(json.dumps(CARD))
    expected: dict[int, tuple[int, int, int]] = {}
    refused: dict[str, int] = {}
    proposed = 0
    for agent_id in range(1, 37):  # the 36 who opted in
        decision = card.decide(features[agent_id])
        if decision is None:
            continue
        proposed += 1
        rate = rate_to_ppm(decision.annual_rate)
        if rate == 250_000:
            reason = "offer_above_rate_cap"
        elif rate == 50_000 or not 500_000 <= decision.limit <= 6_000_000:
            reason = "offer_outside_product"
        else:
            expected[agent_id] = (decision.limit, rate, 30)
            continue
        refused[reason] = refused.get(reason, 0) + 1
    assert offers == expected
    assert (outcome.agents, outcome.proposed) == (36, proposed)
    assert outcome.refused == refused
    assert len(expected) >= 5 and refused  # the scenario has offers and refusals
    db.dispose()
