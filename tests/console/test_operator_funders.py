"""Funders and their products in the console: an operator publishes a product (one
whose highest APR would pass the legal cap is refused, nothing published) and
registers a funder; each funder's officer sees its own products only."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.console.signing import PASSWORD, sign_in, token
from tests.credit.market import build_market
from tests.databases import BACKENDS
from yirong.access.service import create_user
from yirong.api.app import create_app
from yirong.funders.public import public_funders, public_products

TERM = {
    "code": "TERM6",
    "name": "Six months",
    "kind": "term",
    "method": "equal-installment",
    "min_rate": "10",
    "max_rate": "15",
    "min_limit": "1,000",
    "max_limit": "50,000",
    "min_term_days": "30",
    "max_term_days": "180",
    "periods": "6",
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_products_published_under_the_cap_and_a_funder_registered(
    tmp_path: Path, backend: str
) -> None:
    market = build_market(backend, tmp_path, agents=1, opted_in=0)
    db = market.db
    create_user(db, "ops", PASSWORD, "operator", "ops")
    create_user(db, "t1-officer", PASSWORD, "funder", "T1")
    create_user(db, "t2-officer", PASSWORD, "funder", "T2")
    with TestClient(create_app(db)) as client:
        sign_in(client, "ops")
        page = client.get("/operator/funders").text
        assert "Lender T1 (T1)" in page and "Lender T2 (T2)" in page and "24.00%" in page
        url = "/operator/funders/T1/products"
        dear = client.post(url, data=TERM | {"max_rate": "30", "csrf_token": token(page)})
        assert dear.status_code == 422 and "最高年化利率将超过法定上限" in dear.text
        assert "<details open>" in dear.text and 'value="TERM6"' in dear.text  # kept
        done = client.post(url, data=TERM | {"csrf_token": token(page)}, follow_redirects=False)
        assert done.headers["location"] == "/operator/funders?done=product"
        registered = client.post(
            "/operator/funders",
            data={
                "csrf_token": token(page),
                "code": "F9",
                "name": "Factor Nine",
                "licence": "factoring",
                "contact": "F9 desk",
                "settlement_bank_account": "6222000000000999",
                "settlement_bank_name": "Bank",
                "revenue_share": "20",
                "decision_mode": "manual",
            },
            follow_redirects=False,
        )
        assert registered.headers["location"] == "/operator/funders?done=funder"
        again = client.post(
            "/operator/funders",
            data={
                "csrf_token": token(page),
                "code": "F9",
                "name": "x",
                "licence": "factoring",
                "contact": "x",
                "settlement_bank_account": "6222000000000998",
                "settlement_bank_name": "Bank",
                "revenue_share": "20",
                "decision_mode": "manual",
            },
        )
        assert again.status_code == 422 and "该资金方编号已存在。" in again.text
        client.cookies.clear()
        sign_in(client, "t1-officer")
        products = client.get("/funder/products").text
        assert "Six months (TERM6)" in products
        # Its scorecard as it stands: one tier from -1000, at 12% and 2 months' income.
        assert "您的预审批策略" in products and "为LINE报价，期限60天" in products
        assert '<td class="num" data-label="利率">12.00%</td>' in products
        client.cookies.clear()
        sign_in(client, "t2-officer")
        own = client.get("/funder/products").text
        assert "TERM6" not in own and "Line (LINE)" in own
    assert [p.code for _, p in public_products(db, "T1")] == ["LINE", "TERM6"]
    assert [f.code for _, f in public_funders(db)] == ["T1", "T2", "F9"]
