"""The agent's side of the console in Debian's Chromium: signing in (Chinese), the
wallet's page on a desktop and on a phone (375 px), the offers' consent, English and
back, signing out;
each page free of console errors and of serious or critical axe-core violations."""

from __future__ import annotations

from dataclasses import replace

from playwright.sync_api import expect

from tests.bank import credit_commissions
from tests.console.browser import DESKTOP, PHONE, Watched, chromium, served
from yirong.access.service import create_user
from yirong.agents.service import onboard_agent
from yirong.demo.identities import firm
from yirong.infra.db import Database
from yirong.wallets import service as wallets

PASSWORD = "a-long-enough-password-1"


def test_an_agent_signs_in_and_sees_its_wallet(db: Database) -> None:
    backend = db.dialect.value
    agent = onboard_agent(db, replace(firm(1), code="A1"))
    create_user(db, "agent-1", PASSWORD, "agent", agent.code)
    credit_commissions(db, b"agent,month,amount\nA1,2025-12,1234567\n", "dec.csv")
    wallets.pay_carrier(db, "agent:A1", 200_000, "stock")
    with chromium() as browser, served(db) as base:
        page = browser.new_page(viewport=DESKTOP)
        watched = Watched(page)
        page.goto(f"{base}/")
        expect(page.get_by_role("heading", name="登录易融")).to_be_visible()
        watched.check(f"signin-zh-{backend}")
        page.get_by_label("用户名").fill("agent-1")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page).to_have_url(f"{base}/agent")
        expect(page.get_by_role("heading", name="我的钱包")).to_be_visible()
        # 1,234,567 fen of commissions less 200,000 paid for stock.
        expect(page.get_by_text("¥10,345.67").first).to_be_visible()
        expect(page.locator("[data-chart] svg")).to_have_count(1)  # the months, drawn
        watched.check(f"agent-home-zh-{backend}")
        page.set_viewport_size(PHONE)
        # Nothing runs off a phone's screen (the chart redraws to the new width).
        page.wait_for_function(f"document.documentElement.scrollWidth <= {PHONE['width']}")
        watched.check(f"agent-home-phone-{backend}")
        page.set_viewport_size(DESKTOP)
        # Offers: first the consent, saying what would be shared; agreed, it says so.
        page.get_by_role("link", name="借款报价").click()
        expect(page.get_by_text("近12个月佣金")).to_be_visible()
        watched.check(f"offers-consent-zh-{backend}")
        page.get_by_role("button", name="我同意，查看报价").click()
        expect(page.get_by_text("您已同意资金方查看您的经营数据", exact=False)).to_be_visible()
        watched.check(f"offers-zh-{backend}")
        page.get_by_role("link", name="我的钱包").click()
        page.get_by_role("link", name="English").click()
        expect(page.get_by_role("heading", name="My wallet")).to_be_visible()
        watched.check(f"agent-home-en-{backend}")
        page.get_by_role("link", name="中文").click()
        expect(page.get_by_role("heading", name="我的钱包")).to_be_visible()
        page.get_by_role("button", name="退出").click()
        expect(page.get_by_role("heading", name="登录易融")).to_be_visible()
        page.goto(f"{base}/agent")
        expect(page).to_have_url(f"{base}/")  # signed out for good
