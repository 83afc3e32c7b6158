"""The console's ground: one sign-in form for every role at ``/``, in Chinese by
default with an English switch; the session in an HttpOnly, SameSite cookie that an
idle half hour ends and sign-out revokes; every form refused without its CSRF
token; a refusal a page in the reader's language; money as yuan with thousands
separators; each role on its own home page and on no one else's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner

from tests.bank import fund
from tests.console.signing import PASSWORD, form_key, sign_in, token
from tests.credit.market import TEXT, build_market
from tests.databases import BACKENDS
from tests.loans.story import market_with_line
from yirong.access.service import audit_log, create_user
from yirong.agents.service import onboard_agent
from yirong.api.app import create_app
from yirong.credit.consents import consents_of
from yirong.credit.preapproval import run_preapproval
from yirong.demo.identities import firm
from yirong.infra.db import Database
from yirong.loans.drawdowns import drawdowns_of, request_drawdown
from yirong.wallets import service as wallets


@pytest.fixture
def console(db: Database) -> Iterator[TestClient]:
    agent = onboard_agent(db, replace(firm(1), code="A1"))
    create_user(db, "agent-1", PASSWORD, "agent", agent.code)
    create_user(db, "ops", PASSWORD, "operator", "ops")
    # 123,456,789 fen in the agent's wallet: ¥1,234,567.89 on its page.
    wallets.credit_from_bank(db, "agent:A1", 123_456_789, "top-up")
    with TestClient(create_app(db)) as client:
        yield client


def test_the_sign_in_page_is_one_form_in_chinese(console: TestClient) -> None:
    page = console.get("/")
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text
    assert 'name="username"' in page.text and 'name="password"' in page.text
    assert "登录易融" in page.text and '<label for="username">用户名</label>' in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["cache-control"] == "no-store"


def test_a_form_without_its_token_is_refused_and_signs_no_one_in(console: TestClient) -> None:
    console.get("/")  # the browser has its nonce; the form below does not carry it
    refused = console.post("/signin", data={"username": "ops", "password": PASSWORD})
    assert refused.status_code == 403
    assert "此表单已过期，或并非来自本站。请重试。" in refused.text
    assert "yirong_session" not in refused.headers.get("set-cookie", "")
    forged = console.post(
        "/signin", data={"username": "ops", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert forged.status_code == 403


def test_a_wrong_password_is_a_plain_page(console: TestClient) -> None:
    page = sign_in(console, "agent-1", "not-the-password")
    assert page.status_code == 401
    assert "用户名或密码不正确。" in page.text and "Traceback" not in page.text
    assert 'value="agent-1"' in page.text  # the username is kept, the password is not
    assert "not-the-password" not in page.text


def test_an_agent_lands_on_its_wallet_in_yuan(console: TestClient) -> None:
    signed = sign_in(console, "agent-1")
    assert (signed.status_code, signed.headers["location"]) == (303, "/agent")
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith("yirong_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=1800" in cookie
    assert "Secure" not in cookie  # served over http here; over https it is Secure
    home = console.get("/agent")
    assert home.status_code == 200
    assert "我的钱包" in home.text and "¥1,234,567.89" in home.text
    assert "您没有欠款。" in home.text
    again = console.get("/", follow_redirects=False)
    assert again.headers["location"] == "/agent"  # signed in: home again


def test_half_an_hour_idle_ends_the_session_on_the_server(
    console: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_800_000_000]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now[0])
    sign_in(console, "agent-1")
    stale = console.cookies["yirong_session"]  # as set at sign-in
    now[0] += 25 * 60
    assert console.get("/agent").status_code == 200  # 25 minutes: still in, set again
    now[0] += 25 * 60
    assert console.get("/agent").status_code == 200  # 25 after the last page: in
    # The cookie of the sign-in, replayed 50 minutes on, is refused: the server holds
    # the idle time, not only the browser's cookie.
    console.cookies.set("yirong_session", stale)
    assert console.get("/agent", follow_redirects=False).headers["location"] == "/"


def test_english_on_request_and_back(console: TestClient) -> None:
    sign_in(console, "agent-1")
    switched = console.get("/language?to=en&next=/agent", follow_redirects=False)
    assert (switched.status_code, switched.headers["location"]) == (303, "/agent")
    home = console.get("/agent")
    assert '<html lang="en">' in home.text and "My wallet" in home.text
    assert "¥1,234,567.89" in home.text and "我的钱包" not in home.text
    console.get("/language?to=zh_CN&next=/agent")
    assert "我的钱包" in console.get("/agent").text
    # Back only to a path of this site; an unknown language is the default.
    elsewhere = console.get("/language?to=xx&next=not-a-path", follow_redirects=False)
    assert elsewhere.headers["location"] == "/"


def test_each_role_on_its_own_pages_only(console: TestClient) -> None:
    assert console.get("/agent", follow_redirects=False).headers["location"] == "/"
    sign_in(console, "agent-1")
    refused = console.get("/operator")
    assert refused.status_code == 403 and "此页面不适用于您的角色。" in refused.text
    console.cookies.clear()
    assert sign_in(console, "ops").headers["location"] == "/operator"
    assert "营业日" in console.get("/operator").text


def test_the_console_is_audited_as_the_api(console: TestClient, db: Database) -> None:
    sign_in(console, "ops")
    console.get("/operator")
    console.cookies.clear()
    sign_in(console, "agent-1")
    console.get("/agent")  # an agent's read: not audited, as through the API
    page = console.get("/agent/withdraw").text
    console.post("/agent/withdraw", data={"csrf_token": token(page), "amount": "1", "key": "k"})
    found = [(r.actor, r.action, r.status) for r in audit_log(db, limit=100)]
    assert ("operator:ops", "GET /operator", 200) in found
    assert ("agent:A1", "POST /agent/withdraw", 200) in found
    assert not any(a == "agent:A1" and act.startswith("GET") for a, act, _ in found)


def test_signing_out_ends_the_session_for_good(console: TestClient) -> None:
    sign_in(console, "agent-1")
    session = console.cookies["yirong_session"]
    home = console.get("/agent")
    out = console.post("/signout", data={"csrf_token": token(home.text)}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/")
    # The token is revoked, not only forgotten by this browser.
    console.cookies.set("yirong_session", session)
    assert console.get("/agent", follow_redirects=False).headers["location"] == "/"


@pytest.mark.parametrize("backend", BACKENDS)
def test_offers_side_by_side_after_opting_in(tmp_path: Path, backend: str) -> None:
    market = build_market(backend, tmp_path, agents=3, opted_in=1)
    db = market.db
    for n in range(2):
        create_user(db, f"agent-{n}", PASSWORD, "agent", market.code(n))
    run_preapproval(db)
    with TestClient(create_app(db)) as client:
        # Opted in: offers, cheapest APR first (simple, then compound, as shown).
        sign_in(client, "agent-0")
        page = client.get("/agent/offers").text
        assert "借款报价" in page and "随借随还" in page
        shown = [Decimal(x) for x in re.findall(r'<td class="num">(\d+\.\d\d)%</td>', page)]
        aprs = shown[2::3]  # rate, simple APR, compound APR: each offer's compound
        assert len(aprs) == 2 and aprs == sorted(aprs)  # T1 and T2 offered
        assert "我同意，查看报价" not in page
        # Not opted in: what would be shared, and the form that agrees to it.
        client.cookies.clear()
        sign_in(client, "agent-1")
        page = client.get("/agent/offers").text
        assert "近12个月佣金" in page and "我同意，查看报价" in page
        assert "<tbody>" not in page  # no offer before consent
        stale = client.post(
            "/agent/preapproval", data={"csrf_token": token(page), "text_version": "2025-01"}
        )
        assert stale.status_code == 409 and "同意书的文本已更新，请重新阅读。" in stale.text
        assert consents_of(db, market.code(1)) == []
        done = client.post(
            "/agent/preapproval",
            data={"csrf_token": token(page), "text_version": TEXT},
            follow_redirects=False,
        )
        assert (done.status_code, done.headers["location"]) == (303, "/agent/offers")
        [consent] = consents_of(db, market.code(1))
        assert (consent.purpose, consent.withdrawn_on) == ("preapproval", None)
        assert "您已同意资金方查看您的经营数据" in client.get("/agent/offers").text


def test_a_page_that_is_not_there_is_a_page_the_api_a_problem(console: TestClient) -> None:
    missing = console.get("/no-such-page")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "没有这个页面。" in missing.text and '"code"' not in missing.text
    console.get("/language?to=en&next=/")
    assert "There is no such page." in console.get("/no-such-page").text
    api = console.get("/api/v1/no-such-route")
    assert api.status_code == 404 and api.json()["code"] == "route_not_found"


@pytest.mark.parametrize("backend", BACKENDS)
def test_repaying_shows_the_split_first_and_moves_money_once(tmp_path: Path, backend: str) -> None:
    market = market_with_line(backend, tmp_path)
    db, code = market.db, market.code(0)
    create_user(db, "agent-0", PASSWORD, "agent", code)
    order = request_drawdown(db, code, 300_000, 30, "loan")
    fund(db, "T1", order.order_ref, 300_000)
    before = wallets.wallet(db, f"agent:{code}").balance
    with TestClient(create_app(db)) as client:
        sign_in(client, "agent-0")
        page = client.get("/agent/repay").text
        assert "您今天的欠款合计 ¥3,000.00。" in page  # credited today: no interest yet
        # A bad amount is said plainly, and nothing moves.
        bad = client.post(
            "/agent/repay/preview", data={"csrf_token": token(page), "amount": "12.345"}
        )
        assert bad.status_code == 422 and "最多两位小数" in bad.text
        shown = client.post(
            "/agent/repay/preview", data={"csrf_token": token(page), "amount": "1,000"}
        )
        assert "从您的钱包支付 ¥1,000.00" in shown.text and "确认还款 ¥1,000.00" in shown.text
        confirm = {"csrf_token": token(shown.text), "amount": "1,000", "key": form_key(shown.text)}
        first = client.post("/agent/repay", data=confirm)
        again = client.post("/agent/repay", data=confirm)  # a double click, or a reload
        assert first.status_code == again.status_code == 200
        assert "本金 ¥1,000.00" in first.text and "本金 ¥1,000.00" in again.text
    assert wallets.wallet(db, f"agent:{code}").balance == before - 100_000
    [loan] = drawdowns_of(db, code)
    assert loan.principal == 200_000


@pytest.mark.parametrize("backend", BACKENDS)
def test_borrowing_shows_the_schedule_first_and_orders_once(tmp_path: Path, backend: str) -> None:
    market = market_with_line(backend, tmp_path)
    db, code = market.db, market.code(0)
    create_user(db, "agent-0", PASSWORD, "agent", code)
    with TestClient(create_app(db)) as client:
        sign_in(client, "agent-0")
        page = client.get("/agent/borrow").text
        too_long = client.post(
            "/agent/borrow/preview",
            data={"csrf_token": token(page), "amount": "3000", "term_days": "400"},
        )
        assert too_long.status_code == 422 and "您的授信不支持该借款期限。" in too_long.text
        shown = client.post(
            "/agent/borrow/preview",
            data={"csrf_token": token(page), "amount": "3,000", "term_days": "30"},
        )
        # T1's line: 12% on a 360-day basis; 300,000 fen for 30 days is 3,000 fen of
        # interest, due 2026-02-04, 30 days from 2026-01-05.
        assert "利息 ¥30.00" in shown.text and "2026年2月4日" in shown.text
        assert "¥3,030.00" in shown.text  # to repay at the end
        confirm = {
            "csrf_token": token(shown.text),
            "amount": "3,000",
            "term_days": "30",
            "key": form_key(shown.text),
        }
        first = client.post("/agent/borrow", data=confirm)
        again = client.post("/agent/borrow", data=confirm)  # a double click, or a reload
        assert first.status_code == again.status_code == 200 and "已提交借款" in again.text
    [order] = drawdowns_of(db, code)
    assert (order.amount, order.term_days, order.status) == (300_000, 30, "requested")
