"""The command line, as a user types it: results, refusals (exit 2) and a failed
verification (exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from yirong.api.app import create_app
from yirong.cli import app
from yirong.infra.db import Database


@pytest.fixture
def yirong(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["--database", url, *args])
        return result.exit_code, result.output

    assert run("db", "upgrade")[0] == 0
    assert run("books", "open", "--date", "2026-01-05")[0] == 0
    run.url = url  # type: ignore[attr-defined]
    return run


def test_a_wallet_session(yirong) -> None:  # type: ignore[no-untyped-def]
    assert yirong("wallet", "open", "A001", "--name", "Shop A")[0] == 0
    code, out = yirong("wallet", "topup", "A001", "1,234.56", "--key", "t1")
    assert code == 0 and "entry 1" in out
    code, out = yirong("wallet", "topup", "A001", "1,234.56", "--key", "t1")
    assert code == 0 and "nothing moved again" in out
    code, out = yirong("wallet", "show", "A001")
    assert "balance 1,234.56" in out
    code, out = yirong("wallet", "pay-carrier", "A001", "2000", "--key", "p1")
    assert code == 2 and "exceeds_credits" in out
    code, out = yirong("ledger", "show", "wallet:agent:A001")
    assert code == 0 and "wallet.top_up" in out and "1,234.56" in out
    code, out = yirong("ledger", "verify", "--json")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["ok"] is True


@pytest.mark.parametrize(
    ("args", "code_name"),
    [
        (["wallet", "topup", "A404", "1", "--key", "k"], "wallet_not_found"),
        (["wallet", "topup", "A001", "1.234", "--key", "k"], "amount_not_yuan"),
        (["books", "open", "--date", "2026-02-30"], "business_date_invalid"),
        (["books", "open", "--date", "2026-02-01"], "books_already_open"),
        (["books", "next", "--to", "2026-01-04"], "business_date_invalid"),
        (["books", "next", "--to", "2026-01-05"], "business_date_invalid"),
    ],
)
def test_refusals_exit_2_with_their_code(yirong, args: list[str], code_name: str) -> None:  # type: ignore[no-untyped-def]
    yirong("wallet", "open", "A001", "--name", "Shop A")
    code, out = yirong(*args)
    assert code == 2
    assert code_name in out


def test_commission_import(yirong, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    yirong("wallet", "open", "A001", "--name", "Shop A")
    good = tmp_path / "dec.csv"
    good.write_text("agent,month,amount\nA001,2025-12,150000\n")
    code, out = yirong("commissions", "import", str(good))
    assert code == 0 and "Applied 1 commissions, 1,500.00" in out
    code, out = yirong("commissions", "import", str(good))
    assert code == 0 and "already applied" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("agent,month,amount\nA001,2025-11,1.5\nA404,2025-11,3\n")
    code, out = yirong("commissions", "import", str(bad))
    assert code == 2 and "line 2" in out and "amount_not_integer" in out


def test_verify_exits_1_and_lists_a_difference(yirong) -> None:  # type: ignore[no-untyped-def]
    yirong("wallet", "open", "A001", "--name", "Shop A")
    yirong("wallet", "topup", "A001", "10", "--key", "t1")
    db = Database(yirong.url)
    db.run(
        lambda tx: tx.conn.execute(
            text(
                "UPDATE ledger_balances SET credits_posted = credits_posted + 1 "
                "WHERE account_id = "
                "(SELECT id FROM ledger_accounts WHERE code = 'wallet:agent:A001')"
            )
        )
    )
    code, out = yirong("ledger", "verify")
    assert code == 1
    assert "do NOT balance" in out and "balances replay" in out


def test_the_books_move_on_day_by_day_and_holds_expire_on_the_way(yirong) -> None:  # type: ignore[no-untyped-def]
    yirong("wallet", "open", "A001", "--name", "Shop A")
    yirong("wallet", "topup", "A001", "100", "--key", "t1")
    assert yirong("wallet", "withdraw", "A001", "60", "--key", "w1")[0] == 0
    assert yirong("books", "next")[1].strip() == "Business date 2026-01-06."
    code, out = yirong("books", "next", "--to", "2026-01-20")
    assert code == 0 and "2026-01-20" in out
    assert yirong("books", "today")[1].strip() == "2026-01-20"
    # The unanswered withdrawal's hold was released on the way: all 100 yuan available.
    assert "available 100.00" in yirong("wallet", "show", "A001")[1]


def test_the_schedule_calculator_prints_the_mortgage_example_as_json(yirong) -> None:  # type: ignore[no-untyped-def]
    code, out = yirong(
        "schedule", "--principal", "1000000", "--annual-rate", "4.90", "--periods", "360",
        "--method", "equal-installment", "--start", "2026-01-15", "--json",
    )  # fmt: skip
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    rows = result["installments"]
    assert len(rows) == 360 and rows[0]["total"] == 530_727  # 5,307.27 yuan a month
    assert rows[0]["due_date"] == "2026-02-15" and rows[-1]["balance"] == 0
    assert sum(r["principal"] for r in rows) == 100_000_000
    assert result["total_interest"] == sum(r["interest"] for r in rows)
    assert result["apr"] == "0.0490"
    code, out = yirong(
        "schedule", "--principal", "1000", "--annual-rate", "18", "--method", "bullet",
        "--start", "2026-01-15", "--days", "30", "--day-basis", "364",
    )  # fmt: skip
    assert code == 2 and "day_basis_invalid" in out


def test_closing_days_runs_the_end_of_day(yirong) -> None:  # type: ignore[no-untyped-def]
    code, out = yirong("eod", "run", "--json")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["business_date"] == "2026-01-05"
    code, out = yirong("eod", "status")
    assert json.loads(out)["business_date"] == "2026-01-06"
    code, out = yirong("eod", "run", "--date", "2026-01-05")
    assert code == 2 and "eod_already_run" in out


def test_the_demo_ends_with_one_json_line_and_its_books_answer_the_loan_commands(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    path = tmp_path / "demo.db"
    args = ["demo", "--agents", "60", "--days", "35", "--path", str(path), "--no-serve"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output.strip().splitlines()[-1])
    for flow in ("agents", "offers", "lines", "drawdowns", "repayments", "overdue", "freezes"):
        assert isinstance(counts[flow], int), flow
    for flow in ("sweeps", "unfreezes", "exceptions", "revenue_share_fen"):
        assert isinstance(counts[flow], int), flow
    assert counts["agents"] == 60 and counts["drawdowns"] > 0 and counts["verify_ok"] is True
    url = ["--database", f"sqlite:///{path}"]
    statement = runner.invoke(app, [*url, "loan", "statement", "F02", "--month", "2026-01"])
    assert statement.exit_code == 0 and "Revenue share owed by F02, 2026-01" in statement.output
    as_json = runner.invoke(app, [*url, "loan", "statement", "F02", "--month", "2026-01", "--json"])
    data = json.loads(as_json.output)
    assert data["share"] == sum(line["share"] for line in data["lines"])
    bad = runner.invoke(app, [*url, "loan", "statement", "F02", "--month", "January"])
    assert bad.exit_code == 2 and "month_invalid" in bad.output
    book = runner.invoke(app, [*url, "loan", "portfolio", "F02"])
    assert book.exit_code == 0 and "M3+" in book.output
    # The printed sign-ins work: the operator signs in through the API on the demo's data.
    assert "demo-operator-password" in result.output
    client = TestClient(create_app(Database(f"sqlite:///{path}")))
    token = client.post(
        "/api/v1/auth/token", json={"username": "operator", "password": "demo-operator-password"}
    )
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    report = client.get("/api/v1/ledger/verify", headers=headers)
    assert report.status_code == 200 and report.json()["ok"] is True
