"""The funder's officer and the operations team in Debian's Chromium, as the seed
tells their story: the officer reviews an application under consent and approves
it; the agent borrows through the API; the end of day makes the loan overdue; the
officer sees it in the buckets and asks for a freeze; an operator applies it, finds
a bank line nobody claimed, matches it by hand, and a second operator approves; the
dashboard shows the day clean. Another funder's officer sees none of it. Then every
page of each role, in both languages, checked for console errors and by axe-core."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.api.client import Api
from tests.bank import Bank, fund, funder_account
from tests.console.browser import DESKTOP, Watched, chromium, served
from tests.console.signing import PASSWORD
from tests.credit.market import Market, build_market, consent
from tests.databases import BACKENDS
from tests.loans.story import close_days_until, market_with_line
from tests.orders.market import build_order_market, ready_order
from yirong.access.service import create_user
from yirong.books.service import RESERVE, current_business_date
from yirong.credit.applications import apply_for_credit
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.eod.service import run_eod
from yirong.ledger import service as ledger
from yirong.loans.drawdowns import request_drawdown
from yirong.orders.financing import request_financing
from yirong.policy.service import set_setting
from yirong.wallets import service as wallets


def _sign_in(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


class DailyBank(Bank):
    """The bank of the story: one statement a day, even a day with no line."""

    stated: set[date]

    def __post_init__(self) -> None:
        super().__post_init__()
        self.stated = set()

    def close_day(self):  # type: ignore[no-untyped-def]
        self.stated.add(current_business_date(self.db))
        return super().close_day()

    def close_days_until(self, day: date) -> None:
        """Each day's statement, if it has none yet, then its end of day."""
        while (today := current_business_date(self.db)) < day:
            if today not in self.stated:
                self.close_day()
            run_eod(self.db)


def _reserve(market: Market) -> int:
    """What the books hold in the reserve account."""
    return market.db.run(
        lambda tx: ledger.balance_of(tx, ledger.account_by_code(tx, RESERVE)).balance
    )


def _people(market: Market) -> None:
    db = market.db
    for username, role, subject in (
        ("t1-officer", "funder", "T1"),
        ("t2-officer", "funder", "T2"),
        ("ops-a", "operator", "ops-a"),
        ("ops-b", "operator", "ops-b"),
        ("agent", "agent", market.code(0)),
    ):
        create_user(db, username, PASSWORD, role, subject)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_funder_and_the_operators_story(tmp_path: Path, backend: str) -> None:
    market = build_market(backend, tmp_path, agents=2, opted_in=1)
    db, code = market.db, market.code(0)
    run_preapproval(db)
    offer = next(o for o in compare_offers(db, code) if o.funder_code == "T1")
    application = apply_for_credit(db, code, offer.id, market.details(0), consent())
    set_setting(
        db, "recon_approval_threshold_fen", "100000", effective_from=date(2026, 1, 5), set_by="ops"
    )
    _people(market)
    # The bank's statements start from what the books hold (the commissions credited
    # before the story, as if their payment had been matched), one statement a day.
    bank = DailyBank(db, running=_reserve(market))
    with chromium() as browser, served(db) as base:
        page = browser.new_page(viewport=DESKTOP)
        shot = Watched(page)

        # The officer reviews the application under consent, and approves it.
        _sign_in(page, base, "t1-officer")
        page.get_by_role("link", name="申请", exact=True).click()
        page.get_by_role("link", name=f"第{application.id}号").click()
        expect(page.get_by_text(market.details(0).uscc)).to_be_visible()
        shot.check(f"roles-application-{backend}")
        page.get_by_label("授信额度（元）").fill("5,000")
        page.get_by_role("button", name="批准并开立授信").click()
        expect(page.get_by_role("status")).to_contain_text("已批准")

        # The agent borrows through the API, the money comes by the bank, is spent.
        agent = Api(db).sign_in("agent", code)
        asked = agent.post(
            f"/api/v1/agents/{code}/drawdowns", {"amount": 300_000, "term_days": 7}, key="auto"
        )
        assert asked.status_code == 201, asked.text
        bank.credit(
            300_000,
            memo=f"放款 {asked.json()['order_ref']}",
            name="Lender T1",
            account=funder_account(db, "T1"),
        )
        bank.close_day()  # the money is on the day's statement: the wallet has it
        wallet = f"agent:{code}"
        wallets.pay_carrier(db, wallet, wallets.wallet(db, wallet).available, "stock")
        bank.close_days_until(date(2026, 1, 14))  # due 2026-01-12: overdue

        # The officer sees it in the buckets, and asks for a freeze.
        page.get_by_role("link", name="资产组合").click()
        row = page.locator("tbody tr", has_text="M1")
        expect(row).to_contain_text("¥3,000.00")
        shot.check(f"roles-funder-home-{backend}")
        page.get_by_role("link", name="逾期借款").first.click()
        page.get_by_role("button", name=f"申请冻结{code}的钱包").click()
        expect(page.get_by_role("status")).to_contain_text("已提交")

        # Another funder's officer sees none of it.
        _sign_in(page, base, "t2-officer")
        expect(page.get_by_text("¥3,000.00")).to_have_count(0)
        page.get_by_role("link", name="逾期借款").first.click()
        expect(page.get_by_text("您没有逾期借款。")).to_be_visible()

        # A shop pays in without quoting any code: a line nobody claims (1,500 yuan).
        other = f"agent:{market.code(1)}"
        before = wallets.wallet(db, other).balance
        bank.credit(150_000, memo="货款", name="某某商贸", account="6228480000000000009")
        bank.close_day()

        # An operator applies the freeze and matches the line by hand; a second approves.
        _sign_in(page, base, "ops-a")
        page.get_by_role("link", name="冻结", exact=True).click()
        page.get_by_role("button", name="执行冻结").click()
        expect(page.get_by_role("status")).to_contain_text("已完成")
        assert "funder_request" in wallets.wallet(db, wallet).freezes
        page.get_by_role("link", name="异常", exact=True).click()
        page.locator("a[href^='/operator/exceptions/']").first.click()
        shot.check(f"roles-exception-{backend}")
        page.get_by_label("人工匹配到", exact=False).fill(f"wallet:{other}")
        page.get_by_role("button", name="匹配", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("须由另一名运营人员批准")
        _sign_in(page, base, "ops-b")
        page.get_by_role("link", name="异常", exact=True).click()
        page.locator("a[href^='/operator/exceptions/']").first.click()
        page.get_by_role("button", name="批准", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("已批准")
        assert wallets.wallet(db, other).balance == before + 150_000

        # The day closes, and the next (a day is reconciled once the next has closed,
        # its statements in); the dashboard shows the day of the line clean.
        bank.close_days_until(date(2026, 1, 16))
        page.get_by_role("link", name="总览").click()
        latest = page.locator("#recon ~ .card tbody tr").first
        expect(latest).to_contain_text("2026年1月14日")
        expect(latest).to_contain_text("已平")
        shot.check(f"roles-dashboard-{backend}")


def test_every_page_of_each_role_in_both_languages(tmp_path: Path) -> None:
    """Each page a role's menu leads to, and a record's own page, in Chinese and in
    English: no console error, no serious or critical axe violation. The pages are
    the same on both databases; SQLite serves them here."""
    market = market_with_line("sqlite", tmp_path)
    db, code = market.db, market.code(0)
    order = request_drawdown(db, code, 300_000, 7, "loan")
    fund(db, "T1", order.order_ref, 300_000)
    wallets.pay_carrier(db, f"agent:{code}", 1_000_000, "stock")
    close_days_until(market, date(2026, 1, 14))
    Bank(db).credit(8_888, memo="货款", name="某某商贸", account="6228480000000000009")
    _people(market)
    records = {
        "t1-officer": ["/funder/applications/1"],
        "ops-a": [f"/operator/agents/{code}", "/operator/exceptions?status=all"],
        "agent": [],
    }
    with chromium() as browser, served(db) as base:
        page = browser.new_page(viewport=DESKTOP)
        shot = Watched(page)
        for username, extra in records.items():
            _sign_in(page, base, username)
            paths = page.locator("nav.pages a").evaluate_all("links => links.map(a => a.pathname)")
            assert len(paths) >= 3
            for language in ("zh_CN", "en"):
                page.goto(f"{base}/language?to={language}&next=/")
                for path in [*paths, *extra]:
                    page.goto(base + path)
                    slug = path.strip("/").replace("/", "-").split("?")[0]
                    shot.check(f"pages-{language}-{slug}")


def test_the_order_financing_pages_of_each_role_in_both_languages(tmp_path: Path) -> None:
    """Every page of each role with an order financing asked for, its order's page and
    the financing's: no console error, no serious or critical axe violation, in both
    languages."""
    om = build_order_market("sqlite", tmp_path)
    db, code = om.db, om.code(0)
    delivery = current_business_date(db) + timedelta(days=10)
    order = ready_order(db, code, "PO-9001", delivery=delivery)
    financing = request_financing(db, code, order, 800_000, "ask").reference
    for username, role, subject in (
        ("o1-officer", "funder", "O1"),
        ("ops-a", "operator", "ops-a"),
        ("agent", "agent", code),
    ):
        create_user(db, username, PASSWORD, role, subject)
    records = {
        "o1-officer": [f"/funder/order-financings/{financing}"],
        "ops-a": [],
        "agent": [f"/agent/orders/{order}"],
    }
    with chromium() as browser, served(db) as base:
        page = browser.new_page(viewport=DESKTOP)
        shot = Watched(page)
        for username, extra in records.items():
            _sign_in(page, base, username)
            paths = page.locator("nav.pages a").evaluate_all("links => links.map(a => a.pathname)")
            assert any("order" in p for p in paths)
            for language in ("zh_CN", "en"):
                page.goto(f"{base}/language?to={language}&next=/")
                for path in [*paths, *extra]:
                    page.goto(base + path)
                    slug = path.strip("/").replace("/", "-").split("?")[0]
                    shot.check(f"orders-{language}-{slug}")
