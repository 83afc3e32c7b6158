"""The demo's second product, order financing (订单融资): an order financier joins the
marketplace, a distributor of the carrier's phones is registered and its account
verified, and a few agents get order facilities through the same offers, consent and
decisions as lines. Then a handful of orders: entered by the agent, confirmed and
invoiced by the supplier, documented; the advances approved, the financier's money
arriving on the statement, the supplier paid from escrow the next morning; the goods
delivered; one order partly returned (the supplier refunds through the bank, which
repays the funder first); the rest repaid at term, but one that defaults (frozen,
swept, its margin taken to the debt). Every step is a service call, and money only
moves on the simulated bank's statements."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Protocol

from yirong.credit import applications as apps
from yirong.credit.decisions import decide_by_scorecards
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.demo.bank import Party, SimulatedBank
from yirong.demo.customers import Customers
from yirong.demo.funders import BROAD
from yirong.demo.marketplace import Market, firm_details
from yirong.funders.service import FunderInput, ProductInput, add_product, register_funder
from yirong.loans.repayments import repay
from yirong.orders import financing as fin
from yirong.orders import model
from yirong.orders.book import financing_detail
from yirong.orders.purchase import (
    GoodsLine,
    attach_document,
    confirm_order,
    enter_order,
    mark_delivered,
    set_invoice,
)
from yirong.orders.suppliers import SupplierInput, register_supplier, verify_account
from yirong.policy.service import set_setting
from yirong.wallets import service as wallets


class Lending(Protocol):
    """What this module uses of the day loop's state (``demo.lending.Lending``, which
    calls this module: a protocol, so that the import runs one way)."""

    market: Market
    bank: SimulatedBank
    customers: Customers
    day_index: int

    @property
    def borrowers(self) -> Mapping[str, object]: ...

    def count(self, name: str, n: int = 1) -> None: ...

    def attempt(self, call: Callable[[], object]) -> bool: ...


FINANCIER = FunderInput(
    code="F05",
    name="西湖供应链小额贷款有限公司 Xihu Supply-Chain Micro-Loan",
    licence="micro_loan",
    contact="订单融资部 0571-8888 0005, orders@xihu.example",
    settlement_bank_account="3301040160000007788",
    settlement_bank_name="中国银行",
    revenue_share=Decimal("0.20"),
    decision_mode="scorecard",
    scorecard=json.dumps({**BROAD, "product": "ORDER", "term_days": 60}),
)
ORDER_PRODUCT = ProductInput(
    code="ORDER",
    name="订单融资 Purchase-order financing",
    kind="order",
    method="revolving",
    min_rate=Decimal("0.09"),
    max_rate=Decimal("0.18"),
    min_limit=300_000,
    max_limit=50_000_000,
    min_term_days=14,
    max_term_days=120,
    day_basis=360,
    grace_days=0,
    advance_rate=Decimal("0.8"),
    margin=Decimal("0.1"),
)
FINANCIER_PARTY = Party(
    FINANCIER.name, FINANCIER.settlement_bank_account, FINANCIER.settlement_bank_name
)
SUPPLIER = SupplierInput(
    code="DIST01",
    name="浙江通联终端分销有限公司 Zhejiang Tonglian Handset Distribution",
    uscc="91330106MA2H00001E",
    bank_account="571908812310301",
    bank_name="招商银行杭州分行",
)
SUPPLIER_PARTY = Party(SUPPLIER.name, SUPPLIER.bank_account, SUPPLIER.bank_name)
PHONE = ("华为 nova 手机 Huawei nova phones", 129_900)  # a unit's price, fen
FACILITIES = 4  # agents given an order facility
SETUP_DAY, ORDER_DAY, DELIVERY_DAY, RETURN_DAY = 1, 3, 8, 10
DELIVERY_IN, SELL_THROUGH = 7, 21  # days: the order's cycle, its loan's term
SELL_THROUGH_FAST = 14
RETURNED_SHARE = 5  # the returned order gives back a fifth of its phones
OPERATOR = "operator:ops-wang"


@dataclass
class Financed:
    agent: str
    order: str  # the purchase order's reference
    financing: str
    order_ref: str = ""  # the drawdown's reference, quoted by the financier's transfer
    payment: str | None = None  # the payout to the supplier
    defaults: bool = False
    repaid: bool = False  # its repayment was planned
    repay_today: bool = False


@dataclass
class OrderDesk:
    """What the demo knows of its order financings (the platform's records say more)."""

    facilities: list[str] = field(default_factory=list)
    financed: list[Financed] = field(default_factory=list)
    refunded: bool = False


def orders_morning(lending: Lending, desk: OrderDesk, today: date) -> None:
    """The day's order-financing business before the statement: see the module."""
    n = lending.day_index
    if n == SETUP_DAY:
        _open_the_product(lending, desk, today)
    elif n == ORDER_DAY:
        for number, agent in enumerate(desk.facilities):
            _order_and_ask(lending, desk, agent, number, today)
    elif n == DELIVERY_DAY:
        _delivered(lending, desk)
    elif n == RETURN_DAY:
        _part_returned(lending, desk, today)
    _repay_at_term(lending, desk, today)


def orders_evening(lending: Lending, desk: OrderDesk) -> None:
    """After the statement: advances whose money came are paid to the supplier (the
    gate passes); the bank pays the payout file the next morning."""
    db = lending.market.db
    for f in desk.financed:
        if f.payment is None and not fin.payout_gate(db, f.financing):
            f.payment = fin.pay_supplier(db, f.financing).payment
            lending.count("supplier_payouts_instructed")
    for f in desk.financed:
        if f.repay_today:  # the morning's top-up is in: the agent repays its advance
            owed = financing_detail(db, f.financing).owed_today
            if owed and lending.attempt(
                partial(repay, db, f.agent, owed, f"order-repay:{f.financing}")
            ):
                lending.count("order_financings_repaid")
            f.repay_today = False


def _open_the_product(lending: Lending, desk: OrderDesk, today: date) -> None:
    market = lending.market
    db = market.db
    register_funder(db, FINANCIER)
    add_product(db, FINANCIER.code, ORDER_PRODUCT)
    register_supplier(db, SUPPLIER)
    # Nothing is paid to an account nobody verified: the gate says so until it is.
    verify_account(db, SUPPLIER.code, by=OPERATOR)
    # An agent's money repays its order financing before its line (the operator's rule).
    set_setting(db, "debt_priority", "order_first", effective_from=today, set_by="ops-head")
    lending.count("offers", run_preapproval(db).offers_created)
    # Agents without a line first: their order's story is not mixed with a line's.
    candidates = sorted(market.opted_in, key=lambda code: (code in lending.borrowers, code))
    for code in candidates:
        offer = next((o for o in compare_offers(db, code) if o.funder_code == FINANCIER.code), None)
        if offer is None:
            continue
        details = firm_details(db, code)
        if lending.attempt(
            partial(apps.apply_for_credit, db, code, offer.id, details, market.consent(today))
        ):
            desk.facilities.append(code)
            lending.count("order_facility_applications")
        if len(desk.facilities) == FACILITIES:
            break
    decide_by_scorecards(db)
    granted = {line.agent_code for line in apps.lines(db) if line.product_code == "ORDER"}
    desk.facilities = [code for code in desk.facilities if code in granted]


def _order_and_ask(lending: Lending, desk: OrderDesk, agent: str, number: int, today: date) -> None:
    """The agent orders as many phones as its facility and wallet carry: 80% advanced,
    its own 20% and a margin of a tenth of the advance held in its wallet."""
    db = lending.market.db
    limit = next(
        line.credit_limit
        for line in apps.lines(db)
        if line.agent_code == agent and line.product_code == "ORDER"
    )
    available = wallets.wallet(db, f"agent:{agent}").available
    # 0.28 of the order is held (20% + 10% of 80%): keep some of the wallet free.
    value = min(limit * 10 // 8, available * 8 // 10 * 100 // 28)
    units = value // PHONE[1]
    if units < 3:
        lending.count("orders_too_small_to_finance")
        return
    order_no = f"TL{today:%Y%m%d}{number + 1:03d}"
    goods = (GoodsLine(PHONE[0], units, PHONE[1]),)
    delivery = today + timedelta(days=DELIVERY_IN)
    key = f"order:{order_no}"
    order = enter_order(db, agent, SUPPLIER.code, order_no, goods, delivery, key).reference
    lending.count("purchase_orders")
    if number == 0:  # the same supplier's order number again, from another request
        lending.attempt(
            partial(enter_order, db, agent, SUPPLIER.code, order_no, goods, delivery, "again")
        )
    confirm_order(db, order, by=f"supplier:{SUPPLIER.code}", supplier_code=SUPPLIER.code)
    set_invoice(db, order, f"33{today:%y}{number + 1:08d}", supplier_code=SUPPLIER.code)
    for kind in ("contract", "invoice"):
        attach_document(
            db,
            order,
            kind,
            f"{order_no}-{kind}.pdf",
            "application/pdf",
            f"%PDF-1.4 {kind} {order_no} {units} x {PHONE[0]}".encode(),
            by=f"agent:{agent}",
            agent_code=agent,
        )
    total = units * PHONE[1]
    advance = model.max_advance(total, 800_000)
    if number == 0:  # a fen over the advance rate
        lending.attempt(partial(fin.request_financing, db, agent, order, advance + 1, "over"))
    defaults = number == len(desk.facilities) - 1 and number > 0
    # The one that defaults meant to sell fast: due before the month's commissions.
    sell_through = SELL_THROUGH_FAST if defaults else SELL_THROUGH
    asked = fin.request_financing(
        db, agent, order, advance, f"finance:{order_no}", sell_through_days=sell_through
    )
    approved = fin.approve_financing(db, FINANCIER.code, asked.reference)
    assert approved.order_ref is not None
    if number == 0:  # the supplier cannot be paid before the financier's money is here
        lending.attempt(partial(fin.pay_supplier, db, asked.reference))
    lending.bank.pay_in(
        today,
        advance,
        FINANCIER_PARTY,
        memo=f"订单融资放款 {approved.order_ref}",
        reference=f"F05P{approved.order_ref[-10:]}",
    )
    desk.financed.append(
        Financed(
            agent,
            order,
            asked.reference,
            approved.order_ref,
            defaults=defaults,
        )
    )
    lending.count("order_financings_requested")
    if defaults:  # it spends what its wallet has left on more stock at once
        spend = wallets.wallet(db, f"agent:{agent}").available * 9 // 10
        if spend > 0:
            wallets.pay_carrier(db, agent, spend, f"stock:{order_no}")


def _delivered(lending: Lending, desk: OrderDesk) -> None:
    """The phones arrive: the agent signs the delivery receipt (签收单)."""
    db = lending.market.db
    for f in desk.financed:
        attach_document(
            db,
            f.order,
            "delivery_receipt",
            "签收单.jpg",
            "image/jpeg",
            f"delivery receipt {f.order}".encode(),
            by=f"agent:{f.agent}",
            agent_code=f.agent,
        )
        mark_delivered(db, f.order, by=f"supplier:{SUPPLIER.code}", supplier_code=SUPPLIER.code)
        lending.count("orders_delivered")


def _part_returned(lending: Lending, desk: OrderDesk, today: date) -> None:
    """A fifth of the second order's phones go back: the supplier refunds them through
    the bank, quoting its payout; the refund repays the financier first."""
    paid = [f for f in desk.financed if f.payment is not None and not f.defaults]
    if len(paid) < 2:
        return
    f = paid[1]
    detail = financing_detail(lending.market.db, f.financing)
    units = sum(line.quantity for line in detail.order.lines) // RETURNED_SHARE
    assert f.payment is not None
    lending.bank.pay_in(
        today,
        units * PHONE[1],
        SUPPLIER_PARTY,
        memo=f"退货退款 {units} 台 {f.payment}",
        reference=f.payment,
    )
    desk.refunded = True


def _repay_at_term(lending: Lending, desk: OrderDesk, today: date) -> None:
    """Two days before its due date an agent tops up what its wallet lacks; it repays
    its advance in the evening, once the statement credited it (all the advance owes:
    the agent's debts are taken order-first); the last one never does, and defaults."""
    db = lending.market.db
    for f in desk.financed:
        if f.defaults or f.repaid or f.payment is None:
            continue
        detail = financing_detail(db, f.financing)
        due = detail.financing.due_date
        if due is None or today < due - timedelta(days=2) or not detail.owed_today:
            continue
        short = detail.owed_today - wallets.wallet(db, f"agent:{f.agent}").available
        if short > 0:
            lending.customers.top_up(today, f.agent, short)
            lending.count("top_ups_to_repay")
        f.repay_today = True
        f.repaid = True
