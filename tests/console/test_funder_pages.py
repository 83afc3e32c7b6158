"""The funder's officer's pages: its book by bucket; its application queue and one
application, the applicant shown under its consent (each look logged) and decided
once; its loans past due, and a contractual freeze asked for. Another funder's
officer sees none of it."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.bank import fund
from tests.console.signing import PASSWORD, figures, sign_in, token
from tests.credit.market import Market, build_market, consent
from tests.databases import BACKENDS
from tests.loans.story import close_days_until, market_with_line
from yirong.access.service import create_user
from yirong.api.app import create_app
from yirong.credit.applications import apply_for_credit, current_credit
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.credit.queries import list_applications
from yirong.credit.tables import DataShare
from yirong.loans.drawdowns import request_drawdown
from yirong.loans.freeze_requests import freeze_requests
from yirong.loans.repayments import repay
from yirong.wallets import service as wallets


def _shares(market: Market) -> int:
    return int(
        market.db.run(lambda tx: tx.conn.scalar(select(func.count()).select_from(DataShare)))
    )


def _applied(market: Market, n: int, funder: str) -> int:
    offer = next(o for o in compare_offers(market.db, market.code(n)) if o.funder_code == funder)
    made = apply_for_credit(market.db, market.code(n), offer.id, market.details(n), consent())
    return made.id


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_application_reviewed_under_consent_and_decided_once(
    tmp_path: Path, backend: str
) -> None:
    market = build_market(backend, tmp_path, agents=3, opted_in=3)
    db = market.db
    run_preapproval(db)
    first, second = _applied(market, 0, "T1"), _applied(market, 1, "T1")
    create_user(db, "t1-officer", PASSWORD, "funder", "T1")
    create_user(db, "t2-officer", PASSWORD, "funder", "T2")
    with TestClient(create_app(db)) as client:
        assert sign_in(client, "t1-officer").headers["location"] == "/funder"
        assert "待审批申请：2" in client.get("/funder").text
        queue = client.get("/funder/applications").text
        assert f'href="/funder/applications/{first}"' in queue
        assert f'href="/funder/applications/{second}"' in queue
        before = _shares(market)
        page = client.get(f"/funder/applications/{first}").text
        assert market.details(0).uscc in page and "本次查看已记入该授权" in page
        assert _shares(market) == before + 1  # the look, logged against the consent
        # The offer's terms are proposed; a rate that is not one is refused plainly.
        assert 'name="annual_rate" type="text" inputmode="decimal" required value="12.00"' in page
        url = f"/funder/applications/{first}"
        bad = client.post(
            f"{url}/approve",
            data={"csrf_token": token(page), "credit_limit": "5,000", "annual_rate": "twelve"},
        )
        assert bad.status_code == 422 and "请以百分比填写利率" in bad.text
        outside = client.post(
            f"{url}/approve",
            data={"csrf_token": token(page), "credit_limit": "5,000", "annual_rate": "30"},
        )
        assert outside.status_code == 422 and "额度或利率超出您产品的范围。" in outside.text
        forever = {"credit_limit": "5,000", "annual_rate": "12", "valid_days": "0"}
        never = client.post(f"{url}/approve", data={"csrf_token": token(page), **forever})
        assert (
            never.status_code == 422 and "授信有效期为1至1098天。" in never.text
        )  # valid_days_invalid
        assert current_credit(db, market.code(0))[1] is None  # nothing decided yet
        form = {"csrf_token": token(page), "credit_limit": "5,000", "annual_rate": "12.5"}
        done = client.post(f"{url}/approve", data=form, follow_redirects=False)
        again = client.post(f"{url}/approve", data=form, follow_redirects=False)
        assert done.headers["location"] == f"{url}?done=approved"
        assert again.headers["location"] == url  # decided already: the page as it stands
        assert "已批准：该代理商的授信额度已开立。" in client.get(done.headers["location"]).text
        declined = client.post(
            f"/funder/applications/{second}/reject",
            data={"csrf_token": token(page), "reason": "income_volatility"},
            follow_redirects=False,
        )
        assert declined.headers["location"] == f"/funder/applications/{second}?done=rejected"
        # Another funder's officer: none of it, not even that it exists.
        client.cookies.clear()
        sign_in(client, "t2-officer")
        assert (
            f"/funder/applications/{first}"
            not in client.get("/funder/applications?status=all").text
        )
        hidden = client.get(f"/funder/applications/{first}")
        assert hidden.status_code == 404 and "没有这份属于您的申请。" in hidden.text
    _application, line = current_credit(db, market.code(0))
    assert line is not None
    assert (line.credit_limit, line.annual_rate, line.funder_code) == (
        500_000,
        Decimal("0.125"),
        "T1",
    )
    [rejected] = list_applications(db, agent_code=market.code(1))
    assert (rejected.status, rejected.reason_code) == ("rejected", "income_volatility")


@pytest.mark.parametrize("backend", BACKENDS)
def test_loans_past_due_in_the_book_and_a_freeze_asked(tmp_path: Path, backend: str) -> None:
    market = market_with_line(backend, tmp_path)
    db, code = market.db, market.code(0)
    order = request_drawdown(db, code, 300_000, 7, "loan")
    fund(db, "T1", order.order_ref, 300_000)
    wallet = f"agent:{code}"
    wallets.pay_carrier(db, wallet, wallets.wallet(db, wallet).available, "all-of-it")
    close_days_until(market, date(2026, 1, 14))  # due 2026-01-12, unpaid
    create_user(db, "t1-officer", PASSWORD, "funder", "T1")
    create_user(db, "t2-officer", PASSWORD, "funder", "T2")
    with TestClient(create_app(db)) as client:
        sign_in(client, "t1-officer")
        home = client.get("/funder").text
        shown = figures(home)
        assert shown["未还本金"] == "¥3,000.00" and shown["逾期借款"] == "1"
        loans = client.get("/funder/loans").text
        assert order.order_ref in loans and "2026年1月12日" in loans
        assert order.order_ref in client.get("/funder/loans?bucket=M1").text  # 2 days
        assert "您没有逾期借款。" in client.get("/funder/loans?bucket=M2").text
        asked = client.post(
            "/funder/freeze-requests",
            data={"csrf_token": token(loans), "agent": code},
            follow_redirects=False,
        )
        assert asked.headers["location"] == "/funder/loans?done=asked"
        after = client.get(asked.headers["location"]).text
        assert "已提交：由平台运营执行冻结或予以拒绝。" in after and "申请冻结" not in after
        assert "等待平台运营处理" in client.get("/funder/freeze-requests").text
        client.cookies.clear()
        sign_in(client, "t2-officer")
        assert order.order_ref not in client.get("/funder/loans").text
        assert "您尚未申请任何冻结。" in client.get("/funder/freeze-requests").text
    [request] = freeze_requests(db, funder_code="T1")
    assert (request.agent_code, request.status) == (code, "requested")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_months_revenue_share_statement_on_a_page_and_in_excel(
    tmp_path: Path, backend: str
) -> None:
    market = market_with_line(backend, tmp_path)
    db, code = market.db, market.code(0)
    order = request_drawdown(db, code, 300_000, 30, "loan")
    fund(db, "T1", order.order_ref, 300_000)
    close_days_until(market, date(2026, 1, 10))
    # 300,000 fen at 12% on a 360-day basis: 100 fen a day, five days; T1 shares 20%.
    repay(db, code, None, "all")
    create_user(db, "t1-officer", PASSWORD, "funder", "T1")
    with TestClient(create_app(db)) as client:
        sign_in(client, "t1-officer")
        page = client.get("/funder/statements?month=2026-01").text
        shown = figures(page)
        assert (shown["已收利息"], shown["平台分润（20.00%）"]) == ("¥5.00", "¥1.00")
        assert "2026年1月10日" in page and code in page
        assert "本月没有收款。" in client.get("/funder/statements?month=2025-12").text
        bad = client.get("/funder/statements?month=2026-13")
        assert bad.status_code == 422 and "请写作2026-01" in bad.text
        exported = client.get("/funder/statements.csv?month=2026-01")
    text = exported.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["日期", "还款", "代理商", "类型", "利息", "罚息", "平台分润"]
    assert [row[2:] for row in rows[1:]] == [[code, "还款", "5.00", "0.00", "1.00"]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_candidates_by_their_figures_only_with_the_offers_made(
    tmp_path: Path, backend: str
) -> None:
    market = build_market(backend, tmp_path, agents=3, opted_in=2)
    db = market.db
    run_preapproval(db)
    create_user(db, "t1-officer", PASSWORD, "funder", "T1")
    before = _shares(market)
    with TestClient(create_app(db)) as client:
        sign_in(client, "t1-officer")
        page = client.get("/funder/candidates").text
    body = page.split("<tbody>")[1]
    assert body.count("<tr>") == 2  # the two who opted in
    for n in range(3):  # nothing that names them
        agent = market.agents[n]
        assert agent.code not in page and agent.name not in page and agent.uscc not in page
    # November's commissions (1,000,000 and 1,100,000 fen) as their three months'.
    assert "¥10,000.00" in body and "¥11,000.00" in body
    assert body.count("1个：最高") == 2  # one T1 offer each
    assert _shares(market) == before + 2  # each showing logged under its consent


@pytest.mark.parametrize("backend", BACKENDS)
def test_vintages_every_loan_in_excel_and_the_watch_list(tmp_path: Path, backend: str) -> None:
    market = market_with_line(backend, tmp_path)
    db, code = market.db, market.code(0)
    order = request_drawdown(db, code, 300_000, 30, "loan")
    fund(db, "T1", order.order_ref, 300_000)
    request_drawdown(db, code, 100_000, 30, "waiting")  # no money yet: no loan
    create_user(db, "t1-officer", PASSWORD, "funder", "T1")
    with TestClient(create_app(db)) as client:
        sign_in(client, "t1-officer")
        page = client.get("/funder/portfolio").text
        assert '<td>2026年1月</td><td class="num">1</td><td class="num">¥3,000.00</td>' in page
        exported = client.get("/funder/portfolio.csv")
        watch = client.get("/funder/watch").text
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8").lstrip("\ufeff"))))
    assert rows[0][:3] == ["借据", "代理商", "放款日期"]
    assert rows[1:] == [
        [
            order.order_ref,
            code,
            "2026-01-05",
            "2026-02-04",
            "已放款",
            "3000.00",
            "3000.00",
            "0",
            "M0",
            "0.00",
            "0.00",
        ]
    ]
    assert "您的借款人中没有出现这样的下降。" in watch
