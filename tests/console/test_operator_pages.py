"""The operations team's pages: the dashboard (the date, the end of day's steps, the
book, wallets frozen, the books against the bank); a bank line nobody claimed,
matched by hand by one operator and approved by a second (the first may not); a
funder's freeze request applied, and a freeze lifted where an operator may lift it."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.bank import Bank, fund
from tests.console.signing import PASSWORD, figures, sign_in, token
from tests.databases import BACKENDS
from tests.loans.story import close_days_until, market_with_line
from yirong.access.service import create_user
from yirong.api.app import create_app
from yirong.loans.drawdowns import drawdowns_of, request_drawdown
from yirong.loans.freeze_requests import freeze_requests, request_freeze
from yirong.policy.service import set_setting
from yirong.reconciliation import exceptions as queue
from yirong.wallets import service as wallets


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_line_matched_by_hand_by_one_operator_and_approved_by_another(
    tmp_path: Path, backend: str
) -> None:
    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    set_setting(
        db, "recon_approval_threshold_fen", "100000", effective_from=date(2026, 1, 5), set_by="ops"
    )
    order = request_drawdown(db, agent, 200_000, 30, "a")
    bank = Bank(db)  # the funder paid without quoting the order
    bank.credit(200_000, memo="放款", name="Lender T1", account="6222000000999", bank="Bank")
    bank.close_day()
    [exc] = queue.list_exceptions(db)
    for name in ("ops-a", "ops-b"):
        create_user(db, name, PASSWORD, "operator", name)
    with TestClient(create_app(db)) as client:
        sign_in(client, "ops-a")
        listed = client.get("/operator/exceptions").text
        assert f'href="/operator/exceptions/{exc.id}"' in listed and "付款方或附言不明" in listed
        page = client.get(f"/operator/exceptions/{exc.id}").text
        assert "¥2,000.00" in page and "放款" in page
        exported = client.get("/operator/exceptions.csv").content.decode("utf-8")
        rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
        assert rows[0][:4] == ["异常", "类型", "状态", "金额"]
        assert [row[:4] + row[7:9] for row in rows[1:]] == [
            [str(exc.id), "付款方或附言不明", "open", "2000.00", "Lender T1", "放款"]
        ]
        unfit = client.post(
            f"/operator/exceptions/{exc.id}/match",
            data={"csrf_token": token(page), "target": "loan:1"},
        )
        assert unfit.status_code == 422 and "该匹配与银行流水不符。" in unfit.text
        asked = client.post(
            f"/operator/exceptions/{exc.id}/match",
            data={"csrf_token": token(page), "target": f"order:{order.order_ref}"},
            follow_redirects=False,
        )
        assert asked.headers["location"] == f"/operator/exceptions/{exc.id}?done=awaiting_approval"
        waiting = client.get(asked.headers["location"]).text
        assert "等待另一名运营人员" in waiting
        approval = queue.list_exceptions(db)[0].awaiting_approval
        own = client.post(
            f"/operator/approvals/{approval}/approve",
            data={"csrf_token": token(waiting), "exception": str(exc.id)},
        )
        assert own.status_code == 422 and "申请人不能自行批准" in own.text
        assert [d.status for d in drawdowns_of(db, agent)] == ["requested"]  # nothing moved
        client.cookies.clear()
        sign_in(client, "ops-b")
        page = client.get(f"/operator/exceptions/{exc.id}").text
        done = client.post(
            f"/operator/approvals/{approval}/approve",
            data={"csrf_token": token(page), "exception": str(exc.id)},
            follow_redirects=False,
        )
        assert done.headers["location"] == f"/operator/exceptions/{exc.id}?done=approved"
        again = client.post(
            f"/operator/approvals/{approval}/approve",
            data={"csrf_token": token(page), "exception": str(exc.id)},
            follow_redirects=False,
        )
        assert again.headers["location"] == f"/operator/exceptions/{exc.id}"  # decided
        assert "这里没有异常。" in client.get("/operator/exceptions").text
    [loan] = drawdowns_of(db, agent)
    assert (loan.status, loan.principal) == ("credited", 200_000)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_dashboard_and_a_funders_freeze_applied_then_lifted(
    tmp_path: Path, backend: str
) -> None:
    market = market_with_line(backend, tmp_path)
    db, code = market.db, market.code(0)
    wallet = f"agent:{code}"
    order = request_drawdown(db, code, 300_000, 7, "loan")
    fund(db, "T1", order.order_ref, 300_000)
    wallets.pay_carrier(db, wallet, wallets.wallet(db, wallet).available, "all-of-it")
    close_days_until(market, date(2026, 1, 14))  # due 2026-01-12, unpaid: overdue, frozen
    request_freeze(db, "T1", code, "M1; freeze under clause 7")
    create_user(db, "ops", PASSWORD, "operator", "ops")
    with TestClient(create_app(db)) as client:
        sign_in(client, "ops")
        home = client.get("/operator").text
        shown = figures(home)
        assert shown["营业日"] == "2026年1月14日" and shown["未还本金"] == "¥3,000.00"
        assert shown["逾期借款"] == "1" and shown["冻结的钱包"] == "1"
        assert "冻结申请：1" in home and "已完成0/10步" in home
        # The last days reconciled, each saying why it is not clean: no statement
        # since the funding day, and the stock paid from the reserve not on one.
        assert "2026年1月12日" in home and "未平：" in home and "当日尚无对账单" in home
        page = client.get("/operator/freezes").text
        assert "T1申请冻结" in page and "借款还清后自动解冻" in page  # overdue: the loans'
        [asked] = freeze_requests(db, status="requested")
        applied = client.post(
            f"/operator/freeze-requests/{asked.id}/apply",
            data={"csrf_token": token(page)},
            follow_redirects=False,
        )
        assert applied.headers["location"] == "/operator/freezes?done=1"
        assert wallets.wallet(db, wallet).freezes == ("funder_request", "overdue")
        page = client.get("/operator/freezes").text
        overdue = client.post(
            "/operator/freezes/lift",
            data={"csrf_token": token(page), "wallet": wallet, "reason": "overdue", "note": "x"},
        )
        assert overdue.status_code == 422 and "逾期冻结在借款还清后解除" in overdue.text
        lifted = client.post(
            "/operator/freezes/lift",
            data={
                "csrf_token": token(page),
                "wallet": wallet,
                "reason": "funder_request",
                "note": "T1 withdrew its request",
            },
            follow_redirects=False,
        )
        assert lifted.headers["location"] == "/operator/freezes?done=1"
    assert wallets.wallet(db, wallet).freezes == ("overdue",)  # the loans lift this one
