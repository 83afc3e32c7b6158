"""A market for order financing: the credit market's agents and lenders, plus an
order financier (O1: 80% of the order advanced, a 10% margin, 12% a year, 360-day
basis) that grants order facilities through the same marketplace, and a verified
supplier (the carrier's distributor)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tests.credit.market import Market, build_market, consent, order_lender
from yirong.credit.applications import apply_for_credit
from yirong.credit.decisions import decide_by_scorecards
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.funders.service import add_product, register_funder
from yirong.infra.db import Database
from yirong.orders.purchase import (
    GoodsLine,
    attach_document,
    confirm_order,
    enter_order,
    set_invoice,
)
from yirong.orders.suppliers import SupplierInput, register_supplier, verify_account

SUPPLIER = "DIST1"
SUPPLIER_ACCOUNT = "6214830000123456"
# A valid unified social credit code (GB 32100 check character).
SUPPLIER_USCC = "91110000600037341L"


@dataclass
class OrderMarket:
    market: Market

    @property
    def db(self) -> Database:
        return self.market.db

    def code(self, n: int) -> str:
        return self.market.code(n)


def build_order_market(
    backend: str, tmp_path: Path, *, agents: int = 2, financiers: tuple[str, ...] = ("O1",)
) -> OrderMarket:
    """Agent 0 holds T1's revolving line; agent n holds the order facility of
    ``financiers[n % len(financiers)]``. The supplier DIST1 is registered and its
    account verified."""
    market = build_market(backend, tmp_path, agents=agents, opted_in=agents)
    db = market.db
    for code in financiers:
        funder, product = order_lender(code)
        register_funder(db, funder)
        add_product(db, funder.code, product)
    run_preapproval(db)
    line = next(o for o in compare_offers(db, market.code(0)) if o.funder_code == "T1")
    apply_for_credit(db, market.code(0), line.id, market.details(0), consent())
    for n in range(agents):
        financier = financiers[n % len(financiers)]
        offer = next(o for o in compare_offers(db, market.code(n)) if o.funder_code == financier)
        apply_for_credit(db, market.code(n), offer.id, market.details(n), consent())
    assert decide_by_scorecards(db).approved == agents + 1
    register_supplier(
        db,
        SupplierInput(
            SUPPLIER, "深圳市某通讯器材有限公司", SUPPLIER_USCC, SUPPLIER_ACCOUNT, "招商银行"
        ),
    )
    verify_account(db, SUPPLIER, by="operator:ops1")
    return OrderMarket(market)


PHONES = (GoodsLine("Phone model A", 4, 1_500_00), GoodsLine("Phone model B", 2, 2_000_00))
PHONES_TOTAL = 4 * 1_500_00 + 2 * 2_000_00  # 10,000.00 yuan: agent 0's whole facility


def ready_order(
    db: Database,
    agent: str,
    order_no: str,
    *,
    delivery: date,
    invoice: str | None = None,
    goods: tuple[GoodsLine, ...] = PHONES,
) -> str:
    """An order of PHONES entered, confirmed by the supplier, with its contract and
    invoice attached: everything the payout gate asks of the order itself."""
    order = enter_order(db, agent, SUPPLIER, order_no, goods, delivery, f"enter:{order_no}")
    confirm_order(db, order.reference, by="supplier:DIST1", supplier_code=SUPPLIER)
    set_invoice(db, order.reference, invoice or f"INV-{order_no}", supplier_code=SUPPLIER)
    for kind in ("contract", "invoice"):
        attach_document(
            db,
            order.reference,
            kind,
            f"{kind}.pdf",
            "application/pdf",
            f"%PDF {kind} of {order_no}".encode(),
            by=f"agent:{agent}",
            agent_code=agent,
        )
    return order.reference
