"""The agent's whole story in Debian's Chromium, as the seed tells it: it signs in,
opts in and compares offers, applies to the cheapest with its firm's details under a
stated consent; the funder approves (through the API); the agent borrows and sees
the schedule first, repays part with a double click that moves money once, and
spends the rest on stock; the end of day makes the loan overdue; the wallet shows
the frozen banner and a withdrawal is refused with a clear message; a commission
arrives and is swept, and the wallet unfreezes; English and back. Every page is
checked for console errors and by axe-core, and kept as a screenshot."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.api.client import Api
from tests.bank import credit_commissions, fund
from tests.console.browser import DESKTOP, PHONE, Watched, chromium, served
from tests.console.signing import PASSWORD
from tests.credit.market import build_market
from tests.databases import BACKENDS
from tests.loans.story import close_days_until
from yirong.access.service import create_user
from yirong.credit.preapproval import run_preapproval
from yirong.credit.queries import list_applications
from yirong.loans.drawdowns import drawdowns_of
from yirong.loans.queries import list_repayments
from yirong.wallets import service as wallets


def _sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/")
    page.get_by_label("用户名").fill("agent")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{base}/agent")


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_agents_whole_story(tmp_path: Path, backend: str) -> None:
    market = build_market(backend, tmp_path, agents=2, opted_in=1)  # A0 not yet opted in
    db, code = market.db, market.code(1)
    create_user(db, "agent", PASSWORD, "agent", code)
    wallet = f"agent:{code}"
    # November's commissions: 1,100,000 fen (¥11,000.00) in the wallet.
    assert wallets.wallet(db, wallet).balance == 1_100_000
    with chromium() as browser, served(db) as base:
        page = browser.new_page(viewport=DESKTOP)
        shot = Watched(page)
        _sign_in(page, base)

        # Opts in; the month's pre-approval runs; offers side by side, cheapest first.
        page.get_by_role("link", name="借款报价").click()
        page.get_by_role("button", name="我同意，查看报价").click()
        run_preapproval(db)
        page.reload()
        rows = page.locator("tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("Lender T1")  # 12% before T2's 15%
        shot.check(f"story-offers-{backend}")

        # Applies to T1: its registered details, and the consent, ticked.
        page.get_by_role("link", name="向Lender T1申请").click()
        expect(page.get_by_text("T1 desk, 0571-0000", exact=False)).to_be_visible()
        shot.check(f"story-apply-{backend}")
        page.get_by_role("button", name="申请").click()  # the box not ticked: the browser asks
        expect(page).to_have_url(f"{base}/agent/apply/{_offer_in(page.url)}")
        page.get_by_label("我同意在上述期限内", exact=False).check()
        page.get_by_role("button", name="申请").click()
        expect(page).to_have_url(f"{base}/agent/credit")
        expect(page.get_by_text("等待资金方审批")).to_be_visible()

        # T1's officer approves through the API.
        [application] = list_applications(db, agent_code=code)
        t1 = Api(db).sign_in("funder", "T1")
        terms = {"credit_limit": 1_000_000, "annual_rate": "0.12"}
        approved = t1.post(f"/api/v1/applications/{application.id}/approve", terms)
        assert approved.status_code == 201, approved.text
        page.reload()
        expect(page.get_by_text("已批准")).to_be_visible()
        expect(page.locator(".figure", has_text="可用额度")).to_contain_text("¥10,000.00")
        shot.check(f"story-credit-{backend}")

        # Borrows ¥3,000 for 7 days: 12% on a 360-day basis is ¥7.00 of interest,
        # due 7 days after 2026-01-05.
        page.get_by_role("link", name="借款", exact=True).first.click()
        page.get_by_label("金额（元）", exact=True).fill("3,000")
        page.get_by_label("借款天数").fill("7")
        page.get_by_role("button", name="查看还款计划").click()
        expect(page.get_by_text("利息 ¥7.00", exact=False)).to_be_visible()
        expect(page.get_by_text("2026年1月12日")).to_be_visible()
        shot.check(f"story-borrow-{backend}")
        page.get_by_role("button", name="确认：向 T1 借款 ¥3,000.00").click()
        [order] = drawdowns_of(db, code)
        assert fund(db, "T1", order.order_ref, 300_000) == "matched"  # the bank shows it

        # Repays ¥1,000 with a double click on the confirming button: once.
        page.get_by_role("link", name="还款", exact=True).click()
        page.get_by_label("金额（元；留空则全部还清）").fill("1000")
        page.get_by_role("button", name="查看还款分配").click()
        page.get_by_role("button", name="确认还款 ¥1,000.00").dblclick()
        expect(page.get_by_role("heading", name="还款成功")).to_be_visible()
        assert [r.amount for r in list_repayments(db, agent_code=code)] == [100_000]
        assert wallets.wallet(db, wallet).balance == 1_100_000 + 300_000 - 100_000

        # Spends all but ¥10.00 on stock; the loan falls due and is not repaid.
        wallets.pay_carrier(db, wallet, 1_299_000, "stock")
        close_days_until(market, date(2026, 1, 13))
        page.get_by_role("link", name="我的钱包", exact=True).click()
        banner = page.get_by_role("alert")
        expect(banner).to_contain_text("有一笔借款已逾期。")
        expect(banner).to_contain_text("自2026年1月12日起。")  # frozen as its due day closed
        shot.check(f"story-frozen-{backend}")
        page.set_viewport_size(PHONE)
        page.wait_for_function(f"document.documentElement.scrollWidth <= {PHONE['width']}")
        shot.check(f"story-frozen-phone-{backend}")
        page.set_viewport_size(DESKTOP)
        assert wallets.wallet(db, wallet).balance == 0  # its ¥10.00 swept to the loan

        # A withdrawal is refused, plainly; nothing is held.
        page.get_by_role("link", name="提现到银行卡").click()
        page.get_by_label("金额（元）", exact=True).fill("5")
        page.get_by_role("button", name="提现").click()
        expect(page.get_by_role("alert").last).to_contain_text("您的钱包已冻结：除还款外")
        shot.check(f"story-withdrawal-refused-{backend}", refused=422)
        assert wallets.wallet(db, wallet).held == 0

        # December's commission arrives: it repays the loan, and the wallet unfreezes.
        credit_commissions(db, f"agent,month,amount\n{code},2025-12,500000\n".encode(), "d.csv")
        page.get_by_role("link", name="我的钱包", exact=True).click()
        expect(page.get_by_text("您没有欠款。")).to_be_visible()
        expect(page.get_by_role("alert")).to_have_count(0)
        assert wallets.wallet(db, wallet).freezes == ()
        page.get_by_role("link", name="流水").first.click()
        page.evaluate("window.stayed = true")  # gone if the whole page were loaded again
        page.get_by_label("类型").select_option("repayment")
        page.get_by_role("button", name="查询").click()
        expect(page).to_have_url(f"{base}/agent/movements?kind=repayment&direction=&since=&until=")
        expect(page.locator("tbody tr")).to_have_count(len(list_repayments(db, agent_code=code)))
        assert page.evaluate("window.stayed === true")  # htmx swapped the table in place
        shot.check(f"story-movements-{backend}")

        # English, and back.
        page.get_by_role("link", name="English").click()
        expect(page.get_by_role("heading", name="Movements")).to_be_visible()
        shot.check(f"story-movements-en-{backend}")
        page.get_by_role("link", name="中文").click()
        expect(page.get_by_role("heading", name="流水")).to_be_visible()


def _offer_in(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]
