"""The end of day, the business date and the ledger's proof over HTTP, on both
databases: operators only (the date for anyone signed in); a run closes exactly the
books' day and is idempotent by its key; closing a month's last day tells each
funder once that its revenue-share statement can be read."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.api.client import Api, problem_code
from tests.bank import fund
from tests.databases import BACKENDS
from tests.loans.story import close_days_until, market_with_line
from yirong.books.service import current_business_date
from yirong.infra.outbox import OutboxMessage
from yirong.loans.drawdowns import request_drawdown
from yirong.loans.repayments import repay

V1 = "/api/v1"


@pytest.mark.parametrize("backend", BACKENDS)
def test_operators_close_the_day_and_prove_the_books(backend: str, tmp_path: Path) -> None:
    market = market_with_line(backend, tmp_path)
    db = market.db
    api = Api(db)
    ops, agent, t1 = (
        api.sign_in("operator", "ops"),
        api.sign_in("agent", market.code(0)),
        api.funder_system("T1"),
    )
    order = request_drawdown(db, market.code(0), 360_000, 30, "a")
    fund(db, "T1", order.order_ref, 360_000)
    for caller in (agent, t1):
        assert problem_code(caller.post(f"{V1}/eod/runs", {}, key="auto")) == "access_denied"
        assert caller.get(f"{V1}/eod/status").status_code == 403
        assert caller.get(f"{V1}/ledger/verify").status_code == 403
        assert caller.get(f"{V1}/books/date").json() == {"business_date": "2026-01-05"}
    assert api.anonymous().get(f"{V1}/books/date").status_code == 401

    ahead = ops.post(f"{V1}/eod/runs", {"business_date": "2026-01-06"}, key="auto")
    assert ahead.status_code == 409 and problem_code(ahead) == "eod_date_ahead"
    missing = ops.post(f"{V1}/eod/runs", {})
    assert missing.status_code == 428
    closed = ops.post(f"{V1}/eod/runs", {"business_date": "2026-01-05"}, key="eod-0105")
    assert closed.status_code == 201, closed.text
    report = closed.json()
    assert (report["business_date"], report["next_business_date"]) == ("2026-01-05", "2026-01-06")
    assert report["done"]["accrue_and_snapshot"]["accrued"] == 120  # one day at 120 fen
    assert set(report["done"]) == {
        "expire",
        "accrue_and_snapshot",
        "overdue",
        "order_margins",
        "payouts",
        "payment_batches",
        "reconciliation",
        "reconcile",
        "funder_files",
        "advance",
    }
    assert report["skipped"] == []
    # Retried with its key: the first answer, and no second day closed.
    again = ops.post(f"{V1}/eod/runs", {"business_date": "2026-01-05"}, key="eod-0105")
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == report
    assert current_business_date(db) == date(2026, 1, 6)
    twice = ops.post(f"{V1}/eod/runs", {"business_date": "2026-01-05"}, key="auto")
    assert twice.status_code == 409 and problem_code(twice) == "eod_already_run"
    assert ops.get(f"{V1}/eod/status").json() == {"business_date": "2026-01-06", "steps_done": []}
    assert agent.get(f"{V1}/books/date").json() == {"business_date": "2026-01-06"}
    nobody = ops.post(f"{V1}/eod/runs", key="auto")  # no body: the books' day
    assert nobody.status_code == 201 and nobody.json()["business_date"] == "2026-01-06"

    verified = ops.get(f"{V1}/ledger/verify")
    assert verified.status_code == 200
    proof = verified.json()
    assert proof["ok"] is True and proof["problems"] == 0
    assert proof["entries"] > 0 and proof["postings"] >= 2 * proof["entries"]
    assert len(proof["checks"]) >= 10 and all(c["ok"] and c["count"] == 0 for c in proof["checks"])
    assert "balances replay" in {c["name"] for c in proof["checks"]}


@pytest.mark.parametrize("backend", BACKENDS)
def test_closing_a_month_tells_each_funder_once_its_statement_is_ready(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db, code = market.db, market.code(0)
    order = request_drawdown(db, code, 360_000, 30, "a")
    fund(db, "T1", order.order_ref, 360_000)
    close_days_until(market, date(2026, 1, 15))
    paid = repay(db, code, None, "all")  # ten days of interest: 1,200 fen, share 240

    def told() -> list[tuple[str, str, dict[str, str]]]:
        rows = db.run(
            lambda tx: tx.session.execute(
                select(OutboxMessage.recipient, OutboxMessage.business_date, OutboxMessage.payload)
                .where(OutboxMessage.topic == "statement.ready")
                .order_by(OutboxMessage.id)
            ).all()
        )
        return [(r, str(d), json.loads(p)) for r, d, p in rows]

    close_days_until(market, date(2026, 1, 31))
    assert told() == []  # January is not closed yet
    close_days_until(market, date(2026, 2, 2))
    assert told() == [
        ("funder:T1", "2026-01-31", {"funder": "T1", "month": "2026-01"}),
        ("funder:T2", "2026-01-31", {"funder": "T2", "month": "2026-01"}),
    ]
    # What it can now read: January's statement, the repayment's share on it.
    api = Api(db)
    t1 = api.funder_system("T1")
    statement = t1.get(f"{V1}/funders/T1/statements/2026-01")
    assert statement.status_code == 200, statement.text
    body = statement.json()
    assert (body["interest"], body["share"], body["revenue_share_ppm"]) == (1_200, 240, 200_000)
    assert [(line["repayment_id"], line["kind"]) for line in body["lines"]] == [
        (paid.id, "repayment")
    ]
    assert body["share"] == paid.share
    bad = t1.get(f"{V1}/funders/T1/statements/2026-13")
    assert bad.status_code == 422 and problem_code(bad) == "month_invalid"
