"""The agent's wallet pages: movements filtered and paged, each with the balance
after it; the frozen banner that says why, since when and what lifts it; and a
withdrawal that a frozen wallet refuses plainly and a double post asks for once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from tests.console.signing import PASSWORD, form_key, sign_in, token
from yirong.access.service import create_user
from yirong.agents.service import onboard_agent
from yirong.api.app import create_app
from yirong.books.service import next_business_day
from yirong.demo.identities import firm
from yirong.infra.db import Database
from yirong.wallets import service as wallets

WALLET = "agent:A1"


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    agent = onboard_agent(db, replace(firm(1), code="A1"))
    create_user(db, "agent-1", PASSWORD, "agent", agent.code)
    with TestClient(create_app(db)) as client:
        sign_in(client, "agent-1")
        yield client


def _rows(page: str) -> list[list[str]]:
    """The movements table's rows, each its cells' text."""
    body = page.split("<tbody>")[1].split("</tbody>", maxsplit=1)[0]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_movements_filtered_and_paged_with_the_balance_after(
    client: TestClient, db: Database
) -> None:
    # 2026-01-05: thirty top-ups of ¥1.00 to ¥30.00; 2026-01-06: ¥50.00 for stock.
    for n in range(1, 31):
        wallets.credit_from_bank(db, WALLET, n * 100, f"top-up-{n}")
    next_business_day(db)
    wallets.pay_carrier(db, WALLET, 5_000, "stock")
    first = client.get("/agent/movements").text
    assert "共31条流水" in first
    rows = _rows(first)
    assert len(rows) == 25  # a page
    # Newest first: the stock, then the top-ups from ¥30.00 down; ¥465.00 came in.
    assert rows[0] == ["2026年1月6日", "进货预付", "", "¥50.00", "¥415.00"]
    assert rows[1] == ["2026年1月5日", "充值", "¥30.00", "", "¥465.00"]
    assert rows[24][2:] == ["¥7.00", "", "¥28.00"]  # 1 + 2 + ... + 7
    older = re.search(r'href="(/agent/movements\?[^"]*before=[^"]+)"', first)
    assert older is not None and "较新" not in first
    second = client.get(older.group(1).replace("&amp;", "&")).text
    assert [r[2] for r in _rows(second)] == [f"¥{n}.00" for n in range(6, 0, -1)]
    assert "较新" in second and "较早" not in second
    # Filtered: the balance after each line is still the wallet's.
    stock = client.get("/agent/movements?kind=stock").text
    assert "共1条流水" in stock and _rows(stock)[0][4] == "¥415.00"
    money_in = client.get("/agent/movements?direction=in&since=2026-01-06").text
    assert "共0条流水" in money_in
    on_the_5th = client.get("/agent/movements?direction=in&until=2026-01-05").text
    assert "共30条流水" in on_the_5th and 'value="in" selected' in on_the_5th
    # A filter that is not one is said plainly, never read as "everything".
    bad = client.get("/agent/movements?kind=gifts")
    assert bad.status_code == 422 and "没有这种流水类型。" in bad.text
    backwards = client.get("/agent/movements?since=2026-01-06&until=2026-01-05")
    assert backwards.status_code == 422 and "开始日期晚于结束日期。" in backwards.text


def test_a_frozen_wallet_says_why_since_when_and_refuses_a_withdrawal(
    client: TestClient, db: Database
) -> None:
    wallets.credit_from_bank(db, WALLET, 100_000, "top-up")
    next_business_day(db)
    wallets.freeze(db, WALLET, "funder_request", note="contract 7.2", actor="ops")
    home = client.get("/agent").text
    assert "您的钱包已冻结：资金可以转入，除还款外不能转出。" in home
    assert "资金方依据借款合同提出了冻结申请。" in home and "自2026年1月6日起。" in home
    assert "资金方撤回申请后即解冻" in home  # what lifts it
    assert "contract 7.2" not in home  # the operator's note stays the operator's
    page = client.get("/agent/withdraw").text
    refused = client.post(
        "/agent/withdraw",
        data={"csrf_token": token(page), "key": form_key(page), "amount": "100"},
    )
    assert refused.status_code == 422
    assert "您的钱包已冻结：除还款外，资金不能转出。" in refused.text
    wallet = wallets.wallet(db, WALLET)
    assert (wallet.balance, wallet.held) == (100_000, 0)


def test_a_double_posted_withdrawal_asks_the_bank_once(client: TestClient, db: Database) -> None:
    wallets.credit_from_bank(db, WALLET, 100_000, "top-up")
    page = client.get("/agent/withdraw").text
    assert "可用：¥1,000.00。" in page
    form = {"csrf_token": token(page), "key": form_key(page), "amount": "250.50"}
    first = client.post("/agent/withdraw", data=form)
    again = client.post("/agent/withdraw", data=form)  # a double click, or a reload
    assert first.status_code == again.status_code == 200
    assert "¥250.50" in again.text and "提现已申请" in again.text
    wallet = wallets.wallet(db, WALLET)
    assert (wallet.balance, wallet.held, wallet.available) == (100_000, 25_050, 74_950)
