"""The agent's order financing pages: an order entered from a whitelisted supplier,
once however often the form is sent; its contract kept with its SHA-256; the advance
offered at the most the product allows, with the agent's part, the margin and the
term shown; a refusal said in Chinese with nothing changed; one financing however
often its form is sent; and a financing called off, the hold released."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.console.signing import PASSWORD, form_key, sign_in, token
from tests.databases import BACKENDS
from tests.orders.market import SUPPLIER, build_order_market
from yirong.access.service import create_user
from yirong.api.app import create_app
from yirong.books.service import current_business_date
from yirong.orders.financing import financings
from yirong.orders.purchase import orders_of
from yirong.wallets import service as wallets

WALLET = 1_000_000  # agent 0's commissions, in fen
HELD = 200_000 + 80_000  # the agent's part of a 10,000-yuan order at 80%, and a 10% margin


def _order_form(page: str, delivery: str) -> dict[str, str]:
    return {
        "csrf_token": token(page),
        "key": form_key(page),
        "supplier": SUPPLIER,
        "order_no": "PO-7001",
        "description_1": "Phone model A",
        "quantity_1": "4",
        "unit_price_1": "1,500",
        "description_2": "Phone model B",
        "quantity_2": "2",
        "unit_price_2": "2000.00",
        "description_3": "",
        "quantity_3": "",
        "unit_price_3": "",
        "expected_delivery": delivery,
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_order_entered_documented_and_financed_once(tmp_path: Path, backend: str) -> None:
    om = build_order_market(backend, tmp_path)
    db, code = om.db, om.code(0)
    create_user(db, "agent-0", PASSWORD, "agent", code)
    delivery = current_business_date(db) + timedelta(days=10)
    wallet = f"agent:{code}"
    with TestClient(create_app(db)) as client:
        sign_in(client, "agent-0")
        page = client.get("/agent/orders").text
        assert 'href="/agent/orders"' in page and "订单融资" in page
        assert f'<option value="{SUPPLIER}"' in page  # the whitelisted supplier
        assert "最多垫付订单金额的80.00%" in page and "10.00%" in page

        # The order's form sent twice (a double click): one order.
        form = _order_form(page, delivery.isoformat())
        first = client.post("/agent/orders", data=form, follow_redirects=False)
        again = client.post("/agent/orders", data=form, follow_redirects=False)
        assert first.status_code == again.status_code == 303
        assert first.headers["location"] == again.headers["location"]
        [order] = orders_of(db, code)
        assert (order.total, len(order.lines)) == (1_000_000, 2)
        assert first.headers["location"] == f"/agent/orders/{order.reference}"

        # Its page: the lines, the advance offered at 80%, the part, margin and term.
        page = client.get(first.headers["location"]).text
        assert "Phone model B" in page and "¥1,500.00" in page
        assert "待供应商确认" in page
        assert 'name="advance" type="text"' in page and 'value="8,000.00"' in page
        assert "¥2,000.00" in page and "¥800.00" in page and "¥2,800.00" in page
        assert "40 天" in page  # ten days to delivery, thirty to sell

        # The contract, uploaded as a browser does, kept with its SHA-256.
        content = b"%PDF-1.4 the purchase contract of PO-7001"
        upload = client.post(
            "/agent/order-documents",
            data={"csrf_token": token(page), "order": order.reference, "kind": "contract"},
            files={"file": ("合同.pdf", content, "application/pdf")},
            follow_redirects=False,
        )
        assert upload.status_code == 303, upload.text
        page = client.get(upload.headers["location"]).text
        assert "文件已保存" in page and hashlib.sha256(content).hexdigest() in page
        link = re.search(r'href="(/agent/orders/[^"]+/documents/[^"]+)"', page)
        assert link is not None
        assert client.get(link.group(1)).content == content

        # One fen over the rate: refused in Chinese, nothing held, nothing asked.
        key = form_key(page)
        ask = {"csrf_token": token(page), "key": key}
        over = client.post(
            f"/agent/orders/{order.reference}/financings", data=ask | {"advance": "8000.01"}
        )
        assert over.status_code == 422
        assert "融资金额超过产品垫款比例允许的上限" in over.text
        assert financings(db, agent_code=code) == []
        assert wallets.wallet(db, wallet).available == WALLET

        # The request sent twice with the form's key: one financing, held once.
        made = [
            client.post(
                f"/agent/orders/{order.reference}/financings",
                data=ask | {"advance": "8,000"},
                follow_redirects=False,
            )
            for _ in range(2)
        ]
        assert [r.status_code for r in made] == [303, 303]
        [financing] = financings(db, agent_code=code)
        assert (financing.advance, financing.status) == (800_000, "requested")
        assert wallets.wallet(db, wallet).available == WALLET - HELD
        page = client.get(made[0].headers["location"]).text
        assert "融资申请已提交" in page and "等待资金方" in page
        assert 'action="/agent/orders/' + order.reference + '/financings"' not in page

        # A second financing of the order, with another key: refused, in Chinese.
        twice = client.post(
            f"/agent/orders/{order.reference}/financings",
            data=ask | {"key": "another", "advance": "100"},
        )
        assert twice.status_code == 422 and "该订单或其发票已经融资" in twice.text
        assert len(financings(db, agent_code=code)) == 1

        # Called off before the supplier is paid: the hold goes back.
        cancelled = client.post(
            f"/agent/order-financings/{financing.reference}/cancel",
            data={"csrf_token": token(page), "order": order.reference},
            follow_redirects=False,
        )
        assert cancelled.status_code == 303
        assert financings(db, agent_code=code)[0].status == "cancelled"
        assert wallets.wallet(db, wallet).available == WALLET
        assert "融资已取消" in client.get(cancelled.headers["location"]).text


def test_another_agents_order_answers_as_missing(tmp_path: Path) -> None:
    om = build_order_market("sqlite", tmp_path)
    db = om.db
    create_user(db, "agent-0", PASSWORD, "agent", om.code(0))
    create_user(db, "agent-1", PASSWORD, "agent", om.code(1))
    delivery = (current_business_date(db) + timedelta(days=5)).isoformat()
    with TestClient(create_app(db)) as client:
        sign_in(client, "agent-0")
        page = client.get("/agent/orders").text
        client.post("/agent/orders", data=_order_form(page, delivery))
        [order] = orders_of(db, om.code(0))
        sign_in(client, "agent-1")
        seen = client.get(f"/agent/orders/{order.reference}")
        assert seen.status_code == 404 and "没有这笔订单" in seen.text
        assert "PO-7001" not in client.get("/agent/orders").text
