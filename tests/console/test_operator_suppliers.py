"""The operators' supplier and order payout pages: a supplier registered once however
often the form is sent, refused in Chinese with a bad account, its account verified
and its whitelisting switched; an approved financing's gate shown item by item, its
order confirmed on the supplier's behalf, and, the funder's money come, the supplier
paid through the button, once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.bank import fund
from tests.console.signing import PASSWORD, sign_in, token
from tests.databases import BACKENDS
from tests.orders.market import PHONES, SUPPLIER, build_order_market
from yirong.access.service import create_user
from yirong.api.app import create_app
from yirong.books.service import current_business_date
from yirong.orders.financing import approve_financing, get_financing, request_financing
from yirong.orders.purchase import attach_document, enter_order, get_order
from yirong.orders.suppliers import get_supplier, suppliers

ADVANCE = 800_000


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_supplier_registered_verified_and_whitelisted(tmp_path: Path, backend: str) -> None:
    om = build_order_market(backend, tmp_path)
    db = om.db
    create_user(db, "ops-a", PASSWORD, "operator", "ops-a")
    with TestClient(create_app(db)) as client:
        sign_in(client, "ops-a")
        page = client.get("/operator/suppliers").text
        assert "DIST1" in page and 'href="/operator/suppliers"' in page
        form = {
            "csrf_token": token(page),
            "code": "DIST2",
            "name": "福州某电子有限公司",
            "uscc": "91350100M000100Y43",
            "bank_account": "12345",
            "bank_name": "兴业银行",
            "whitelisted": "yes",
        }
        bad = client.post("/operator/suppliers", data=form)
        assert bad.status_code == 422 and "结算账户为8至32位数字" in bad.text
        assert [s.code for s in suppliers(db)] == [SUPPLIER]
        form["bank_account"] = "6214 8300 0099 8877"
        sent = [client.post("/operator/suppliers", data=form, follow_redirects=False)]
        sent.append(client.post("/operator/suppliers", data=form, follow_redirects=False))
        assert [r.status_code for r in sent] == [303, 303]  # a second click: the same one
        added = get_supplier(db, "DIST2")
        assert (added.bank_account, added.account_verified, added.whitelisted) == (
            "6214830000998877",
            False,
            True,
        )
        page = client.get("/operator/suppliers").text
        assert "核验DIST2的账户" in page
        client.post("/operator/suppliers/DIST2/verify", data={"csrf_token": token(page)})
        client.post("/operator/suppliers/DIST2/delist", data={"csrf_token": token(page)})
        added = get_supplier(db, "DIST2")
        assert added.account_verified and not added.whitelisted
        assert "将DIST2加入白名单" in client.get("/operator/suppliers").text


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_gate_shown_the_order_confirmed_and_the_supplier_paid(
    tmp_path: Path, backend: str
) -> None:
    om = build_order_market(backend, tmp_path)
    db, agent = om.db, om.code(0)
    delivery = current_business_date(db) + timedelta(days=10)
    order = enter_order(db, agent, SUPPLIER, "PO-3001", PHONES, delivery, "enter").reference
    attach_document(
        db, order, "contract", "c.pdf", "application/pdf", b"%PDF c", by="a", agent_code=agent
    )
    financing = request_financing(db, agent, order, ADVANCE, "ask").reference
    order_ref = approve_financing(db, "O1", financing).order_ref
    assert order_ref is not None
    create_user(db, "ops-a", PASSWORD, "operator", "ops-a")
    with TestClient(create_app(db)) as client:
        sign_in(client, "ops-a")
        page = client.get("/operator/order-payouts").text
        assert financing in page
        for missing in ("供应商尚未确认订单", "尚未上传发票", "资金方款项尚未到账"):
            assert missing in page
        assert f'action="/operator/order-financings/{financing}/payout"' not in page
        confirmed = client.post(
            f"/operator/orders/{order}/confirm",
            data={"csrf_token": token(page)},
            follow_redirects=False,
        )
        assert confirmed.status_code == 303
        assert get_order(db, order).confirmed_by == "operator:ops-a"
        # Still missing: nothing is paid while an item remains, even if asked.
        refused = client.post(
            f"/operator/order-financings/{financing}/payout", data={"csrf_token": token(page)}
        )
        assert refused.status_code == 409 and "暂不能支付供应商" in refused.text
        assert get_financing(db, financing).status == "approved"

        attach_document(
            db, order, "invoice", "i.pdf", "application/pdf", b"%PDF i", by="a", agent_code=agent
        )
        assert fund(db, "O1", order_ref, ADVANCE) == "matched"
        page = client.get("/operator/order-payouts").text
        assert "尚缺" not in page
        assert f'action="/operator/order-financings/{financing}/payout"' in page
        assert "向DIST1支付¥10,000.00" in page
        paid = [
            client.post(
                f"/operator/order-financings/{financing}/payout",
                data={"csrf_token": token(page)},
                follow_redirects=False,
            )
            for _ in range(2)
        ]
        assert [p.status_code for p in paid] == [303, 303]
        done = get_financing(db, financing)
        assert done.status == "paying" and done.payment is not None
        page = client.get(paid[0].headers["location"]).text
        assert "已发出向供应商的付款指令" in page and done.payment in page
