"""One order financed once, under races, on PostgreSQL's real locks: the same
supplier's order number entered by two agents at once, one invoice number claimed
for two orders financed by two funders at once, and two requests to finance one
order at once. Exactly one of each pair wins; the other gets the code that names
the clash, and nothing of it is left behind."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.orders.market import PHONES, SUPPLIER, build_order_market, ready_order
from yirong.books.service import current_business_date
from yirong.errors import YirongError
from yirong.infra.db import Database, Tx
from yirong.orders.financing import financings, request_financing
from yirong.orders.purchase import enter_order, get_order, orders_of, set_invoice


def race(db: Database, first: Callable[[Tx], Any], second: Callable[[], Any]) -> str:
    """Run ``second`` while ``first``'s transaction has written but not committed;
    the refusal code ``second`` gets (``first`` must win)."""
    written = threading.Event()

    def hold(tx: Tx) -> None:
        first(tx)
        written.set()
        time.sleep(0.3)  # uncommitted while the second request checks and writes

    with ThreadPoolExecutor(max_workers=2) as pool:
        one = pool.submit(db.run, hold)
        assert written.wait(30)
        other = pool.submit(second)
        one.result(timeout=30)
        with pytest.raises(YirongError) as refused:
            other.result(timeout=30)
    return refused.value.code


@pytest.fixture
def market(tmp_path: Path) -> Any:
    return build_order_market("postgresql", tmp_path, agents=2, financiers=("O1", "O2"))


def test_one_supplier_order_entered_by_two_agents_at_once(market: Any) -> None:
    db = market.db
    delivery = current_business_date(db) + timedelta(days=5)
    a, b = market.code(0), market.code(1)
    code = race(
        db,
        lambda tx: enter_order.__wrapped__(tx, a, SUPPLIER, "PO-RACE", PHONES, delivery, "k"),
        lambda: enter_order(db, b, SUPPLIER, "PO-RACE", PHONES, delivery, "k"),
    )
    assert code == "order_taken"
    assert [o.order_no for o in orders_of(db, a)] == ["PO-RACE"]
    assert orders_of(db, b) == []


def test_one_invoice_for_two_orders_of_two_funders_at_once(market: Any) -> None:
    """Agent 0 finances with O1 and agent 1 with O2: one invoice cannot back both."""
    db = market.db
    delivery = current_business_date(db) + timedelta(days=5)
    first = ready_order(db, market.code(0), "PO-A", delivery=delivery, invoice="INV-A")
    second = enter_order(db, market.code(1), SUPPLIER, "PO-B", PHONES, delivery, "k").reference
    claimed = get_order(db, first).invoice_no
    assert claimed == "INV-A"
    # A third order racing a fourth for a fresh invoice number.
    third = enter_order(db, market.code(0), SUPPLIER, "PO-C", PHONES, delivery, "k3").reference
    code = race(
        db,
        lambda tx: set_invoice.__wrapped__(tx, third, "INV-RACE"),
        lambda: set_invoice(db, second, "INV-RACE"),
    )
    assert code == "invoice_taken"
    assert get_order(db, third).invoice_no == "INV-RACE"
    assert get_order(db, second).invoice_no is None
    # And the invoice already financed elsewhere is refused outright.
    with pytest.raises(YirongError) as refused:
        set_invoice(db, second, "INV-A")
    assert refused.value.code == "invoice_taken"


def test_two_requests_to_finance_one_order_at_once(market: Any) -> None:
    db = market.db
    agent = market.code(0)
    order = ready_order(db, agent, "PO-R", delivery=current_business_date(db))
    code = race(
        db,
        lambda tx: request_financing.__wrapped__(tx, agent, order, 500_000, "one"),
        lambda: request_financing(db, agent, order, 400_000, "two"),
    )
    assert code == "order_already_financed"
    assert [(f.advance, f.status) for f in financings(db, agent_code=agent)] == [
        (500_000, "requested")
    ]
