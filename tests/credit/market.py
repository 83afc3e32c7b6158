"""A small market for credit tests: two permissive scorecard funders, agents with a
month of commissions, the books on 2026-01-05 (so December 2025 counts in features)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from tests.bank import credit_commissions
from tests.databases import fresh_database
from yirong.agents.service import AgentInput, onboard_agents
from yirong.books.service import current_business_date, next_business_day, open_books
from yirong.credit.applications import FirmDetails
from yirong.credit.consents import APPLICATION_FIELDS, ConsentTerms, opt_in_preapproval
from yirong.demo.identities import firm
from yirong.funders.service import FunderInput, ProductInput, add_product, register_funder
from yirong.infra.db import Database

TODAY = date(2026, 1, 5)
TEXT = "2026-01"


def card(rate: str, months: str, product: str = "LINE", term_days: int = 60) -> str:
    return json.dumps(
        {
            "product": product,
            "term_days": term_days,
            "tiers": [{"min_score": -1000, "annual_rate": rate, "limit_months_of_income": months}],
        }
    )


def scorecard_funder(code: str, scorecard: str, share: str = "0.2") -> FunderInput:
    """A permissive scorecard funder (its card offers to every agent)."""
    return FunderInput(
        code=code,
        name=f"Lender {code}",
        licence="micro_loan",
        contact=f"{code} desk, 0571-0000",
        settlement_bank_account=f"6222{sum(map(ord, code)):09d}",
        settlement_bank_name="Bank",
        revenue_share=Decimal(share),
        decision_mode="scorecard",
        scorecard=scorecard,
    )


def product(code: str = "LINE", kind: str = "revolving", **terms: Decimal) -> ProductInput:
    """A product lending 1,000 to 500,000 yuan for 7 to 180 days at 8% to 18%."""
    return ProductInput(
        code=code,
        name=code.title(),
        kind=kind,
        method="revolving",
        min_rate=Decimal("0.08"),
        max_rate=Decimal("0.18"),
        min_limit=100_000,
        max_limit=50_000_000,
        min_term_days=7,
        max_term_days=180,
        **terms,
    )


def lender(code: str, rate: str, months: str) -> tuple[FunderInput, ProductInput]:
    return scorecard_funder(code, card(rate, months)), product()


def order_lender(
    code: str,
    rate: str = "0.12",
    months: str = "3",
    *,
    share: str = "0.2",
    term_days: int = 90,
    advance: str = "0.8",
    margin: str = "0.1",
) -> tuple[FunderInput, ProductInput]:
    """An order financier (订单融资): ``advance`` of an order lent, ``margin`` of it held."""
    return (
        scorecard_funder(code, card(rate, months, "ORDER", term_days), share),
        product("ORDER", "order", advance_rate=Decimal(advance), margin=Decimal(margin)),
    )


@dataclass
class Market:
    db: Database
    agents: list[AgentInput]

    def code(self, n: int) -> str:
        return self.agents[n].code

    def details(self, n: int) -> FirmDetails:
        a = self.agents[n]
        return FirmDetails(a.name, a.uscc, a.legal_rep_name, a.legal_rep_id, a.mobile, a.bank_card)


def consent(valid_until: date = date(2026, 12, 31)) -> ConsentTerms:
    return ConsentTerms(APPLICATION_FIELDS, valid_until, TEXT)


def advance_to(db: Database, day: date) -> None:
    while current_business_date(db) < day:
        next_business_day(db)


def build_market(
    backend: str,
    tmp_path: Path,
    *,
    agents: int = 6,
    opted_in: int = 4,
    t1_product: ProductInput | None = None,
) -> Market:
    """``t1_product``: T1 lends on this product instead of its revolving line."""
    db = fresh_database(backend, tmp_path)
    open_books(db, date(2025, 12, 1))
    for funder, product in (lender("T1", "0.12", "2"), lender("T2", "0.15", "1")):
        register_funder(db, funder)
        add_product(db, funder.code, t1_product if t1_product and funder.code == "T1" else product)
    firms = [firm(n, carrier_since=date(2024, 1, 1)) for n in range(agents)]
    onboard_agents(db, firms)
    advance_to(db, date(2025, 12, 5))
    rows = "".join(f"{f.code},2025-11,{1_000_000 + n * 100_000}\n" for n, f in enumerate(firms))
    credit_commissions(db, f"agent,month,amount\n{rows}".encode(), "nov.csv")
    advance_to(db, TODAY)
    for f in firms[:opted_in]:
        opt_in_preapproval(db, f.code, text_version=TEXT)
    return Market(db, firms)
