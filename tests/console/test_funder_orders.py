"""The funder's order financing pages: the financings asked of it, one whole with its
documents (downloaded as they were kept) and what keeps the supplier from being paid;
a decline without a reason refused, an approval once; and, the supplier paid, its
concentration by supplier and by agent. Another funder sees none of it."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.bank import Bank, fund
from tests.console.signing import PASSWORD, sign_in, token
from tests.databases import BACKENDS
from tests.orders.market import SUPPLIER_ACCOUNT, build_order_market, ready_order
from yirong.access.service import create_user
from yirong.api.app import create_app
from yirong.books.service import current_business_date
from yirong.orders.financing import get_financing, pay_supplier, request_financing

ADVANCE = 800_000  # 80% of the 10,000-yuan order


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_financing_reviewed_approved_and_in_the_concentration(
    tmp_path: Path, backend: str
) -> None:
    om = build_order_market(backend, tmp_path)
    db, agent = om.db, om.code(0)
    order = ready_order(db, agent, "PO-2001", delivery=current_business_date(db) + timedelta(10))
    financing = request_financing(db, agent, order, ADVANCE, "ask").reference
    create_user(db, "o1-officer", PASSWORD, "funder", "O1")
    create_user(db, "t1-officer", PASSWORD, "funder", "T1")
    with TestClient(create_app(db)) as client:
        sign_in(client, "t1-officer")  # another funder: as if there were none
        assert financing not in client.get("/funder/order-financings").text
        assert client.get(f"/funder/order-financings/{financing}").status_code == 404

        sign_in(client, "o1-officer")
        listing = client.get("/funder/order-financings").text
        assert f'href="/funder/order-financings/{financing}"' in listing
        assert "等待资金方" in listing and "¥8,000.00" in listing
        page = client.get(f"/funder/order-financings/{financing}").text
        assert "PO-2001" in page and "供应商已确认" in page and "supplier:DIST1" in page
        contract = b"%PDF contract of PO-2001"
        assert hashlib.sha256(contract).hexdigest() in page
        links = re.findall(rf'href="(/funder/order-financings/{financing}/documents/[^"]+)"', page)
        got = client.get(links[0])
        assert got.content == contract
        assert got.headers["x-content-sha256"] == hashlib.sha256(contract).hexdigest()
        # The gate names what is missing: the funder's own money, before it approves.
        assert "资金方款项尚未到账" in page

        # Declined without a reason: refused, in Chinese; nothing decided.
        bare = client.post(
            f"/funder/order-financings/{financing}/reject",
            data={"csrf_token": token(page), "reason": " "},
        )
        assert bare.status_code == 422 and "请说明原因" in bare.text
        assert get_financing(db, financing).status == "requested"
        approved = [
            client.post(
                f"/funder/order-financings/{financing}/approve",
                data={"csrf_token": token(page)},
                follow_redirects=False,
            )
            for _ in range(2)
        ]
        assert [a.status_code for a in approved] == [303, 303]
        done = get_financing(db, financing)
        assert done.status == "approved" and done.order_ref is not None
        page = client.get(approved[0].headers["location"]).text
        assert "已批准" in page and done.order_ref in page
        assert 'action="/funder/order-financings/' + financing + '/approve"' not in page

        # The money comes, the supplier is paid and the bank shows it: the loan runs.
        assert fund(db, "O1", done.order_ref, ADVANCE) == "matched"
        payment = pay_supplier(db, financing).payment
        bank = Bank(db)
        bank.debit(1_000_000, memo=f"受托支付 {payment}", account=SUPPLIER_ACCOUNT)
        bank.close_day()
        page = client.get(f"/funder/order-financings/{financing}").text
        assert payment is not None and payment in page and "已付，对账单流水" in page
        book = client.get("/funder/order-concentration").text
        supplier_row = re.search(
            r"<tr><td[^>]*>深圳市某通讯器材有限公司 \(DIST1\).*?</tr>", book, re.S
        )
        assert supplier_row is not None
        assert "¥8,000.00" in supplier_row.group(0)  # outstanding
        assert "按代理商" in book and agent in book

        sign_in(client, "t1-officer")
        assert "DIST1" not in client.get("/funder/order-concentration").text
