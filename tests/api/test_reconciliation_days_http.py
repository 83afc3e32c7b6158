"""The day's reconciliation and the funders' files through HTTP: an operator runs a
day and reads it back as kept; a funder downloads its own loan book with its .ok
marker, sends its own back, and reads the differences; another funder cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.client import Api, problem_code
from tests.bank import Bank, funder_account
from tests.databases import BACKENDS
from tests.loans.story import market_with_lines
from tests.reconciliation.test_daily import reserve
from yirong.books.service import current_business_date
from yirong.eod.service import run_eod
from yirong.loans.drawdowns import request_drawdown

V1 = "/api/v1"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_day_reconciled_and_a_funder_file_compared_over_http(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_lines(backend, tmp_path, 2)
    db = market.db
    bank = Bank(db, running=reserve(db))  # the commissions came before its statements
    day = current_business_date(db)
    order = request_drawdown(db, market.code(0), 100_000, 30, "h1")
    bank.credit(100_000, memo=f"放款 {order.order_ref}", account=funder_account(db, "T1"))
    bank.close_day()
    run_eod(db)
    api = Api(db)
    ops, t1, t2 = (
        api.sign_in("operator", "ops"),
        api.sign_in("funder", "T1"),
        api.sign_in("funder", "T2"),
    )

    ran = ops.post(f"{V1}/recon/days/{day}/run")
    assert ran.status_code == 200, ran.text
    body = ran.json()
    assert body["date"] == str(day) and body["clean"] is True
    assert body["difference_fen"] == body["explained_fen"] == 0
    assert body["bank_closing_fen"] == body["books_fen"] == bank.running
    kept = ops.get(f"{V1}/recon/days/{day}")
    assert kept.status_code == 200 and kept.json()["accounts"] == body["accounts"]
    assert kept.json()["kept"][0]["version"] == 1
    assert problem_code(ops.get(f"{V1}/recon/days/{day.replace(year=2020)}")) == (
        "recon_day_not_run"
    )
    assert problem_code(ops.post(f"{V1}/recon/days/{current_business_date(db)}/run")) == (
        "recon_day_not_closed"
    )

    got = t1.get(f"{V1}/funders/T1/files/{day}/LOANS")
    assert got.status_code == 200
    content = got.content
    assert content.decode().split("\n")[2].startswith(order.order_ref + "|")
    ok = got.headers["X-Yirong-Ok"]
    assert t1.get(f"{V1}/funders/T1/files/{day}/LOANS", params={"ok": "true"}).text.strip() == ok
    foreign = t2.get(f"{V1}/funders/T1/files/{day}/LOANS")
    assert (foreign.status_code, problem_code(foreign)) == (404, "funder_not_found")

    def send(body: bytes, marker: str | None) -> object:
        params = {"ok": marker} if marker is not None else {}
        return t1.post(
            f"{V1}/funders/T1/files/{day}/LOANS/compare",
            content=body,
            params=params,
            headers={"Content-Type": "text/plain"},
        )

    same = send(content, ok)
    assert same.status_code == 201 and same.json()["clean"] is True  # type: ignore[attr-defined]
    assert problem_code(send(content, None)) == "funder_file_not_complete"  # type: ignore[arg-type]
    # The same file in a multipart form, as a generated client sends it.
    as_form = t1.post(
        f"{V1}/funders/T1/files/{day}/LOANS/compare/form",
        params={"ok": ok},
        files={"file": ("LOANS.txt", content)},
    )
    assert as_form.status_code == 201 and as_form.json()["clean"] is True, as_form.text
    checks = t1.get(f"{V1}/funders/T1/file-checks").json()
    assert [c["clean"] for c in checks] == [True, True]
    assert t2.get(f"{V1}/funders/T1/file-checks").status_code == 404
