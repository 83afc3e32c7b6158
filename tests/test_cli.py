"""The command line, as a user types it: results, refusals (exit 2) and a failed
verification (exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from tests.bank import RESERVE_NUMBER, Bank
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


def bank_statement(yirong, tmp_path: Path, name: str, *lines: tuple[int, str]) -> Path:  # type: ignore[no-untyped-def]
    """The reserve account's bank writes a statement of credit lines (fen, memo)."""
    bank = Bank(Database(yirong.url), register=False, running=getattr(yirong, "running", 0))
    for amount, memo in lines:
        bank.credit(amount, memo=memo, account="6222020000000000009")
    path = tmp_path / name
    path.write_bytes(bank.statement_bytes())
    yirong.running = bank.running
    return path


def test_a_wallet_session(yirong, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert yirong("wallet", "open", "A001", "--name", "Shop A")[0] == 0
    code, out = yirong(
        "books", "add-bank-account", RESERVE_NUMBER, "--bank", "招商银行", "--name", "易融备付金"
    )
    assert code == 0 and "platform:reserve" in out
    code, out = yirong("books", "show", "--json")
    shown = json.loads(out.strip().splitlines()[-1])
    assert [a["number"] for a in shown["bank_accounts"]] == [RESERVE_NUMBER]
    # Someone says the agent paid in: a notice, nothing moves.
    code, out = yirong("recon", "notice", "top-up", "A001", "--amount", "1,234.56", "--key", "t1")
    assert code == 0 and "Nothing moves" in out
    code, out = yirong("wallet", "show", "A001")
    assert "balance 0.00" in out
    pay_in = out.split("pay-in code ")[1].split()[0]
    path = bank_statement(yirong, tmp_path, "day1.csv", (123_456, f"充值 {pay_in}"))
    code, out = yirong("recon", "import", str(path), "--json")
    assert code == 0, out
    result = json.loads(out.strip().splitlines()[-1])
    assert {k: result[k] for k in ("lines", "new", "duplicates", "matched", "exceptions")} == {
        "lines": 1,
        "new": 1,
        "duplicates": 0,
        "matched": 1,
        "exceptions": 0,
    }
    code, out = yirong("recon", "import", str(path), "--json")
    assert json.loads(out.strip().splitlines()[-1])["status"] == "exists"
    code, out = yirong("wallet", "show", "A001")
    assert "balance 1,234.56" in out
    code, out = yirong("recon", "notices", "--json")
    assert [n["status"] for n in json.loads(out.strip().splitlines()[-1])["notices"]] == ["matched"]
    code, out = yirong("wallet", "pay-carrier", "A001", "2000", "--key", "p1")
    assert code == 2 and "exceeds_credits" in out
    code, out = yirong("ledger", "show", "wallet:agent:A001")
    assert code == 0 and "wallet.top_up" in out and "1,234.56" in out
    code, out = yirong("ledger", "verify", "--json")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["ok"] is True


def test_an_exception_from_the_command_line(yirong, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    yirong("books", "add-bank-account", RESERVE_NUMBER, "--bank", "招商银行", "--name", "易融")
    yirong("wallet", "open", "A001", "--name", "Shop A")
    path = bank_statement(yirong, tmp_path, "day1.csv", (5_000, "不明款项"))
    code, out = yirong("recon", "import", str(path))
    assert code == 0 and "1 exceptions" in out
    code, out = yirong("recon", "exceptions", "--json")
    [exc] = json.loads(out.strip().splitlines()[-1])["exceptions"]
    assert (exc["kind"], exc["amount"], exc["owner"]) == ("unknown", 5_000, "operations")
    code, out = yirong("recon", "resolve", str(exc["id"]), "--match", "wallet:A001", "--as", "li")
    assert code == 0 and "matched" in out
    assert "balance 50.00" in yirong("wallet", "show", "A001")[1]
    code, out = yirong("recon", "resolve", str(exc["id"]), "--return")
    assert code == 2 and "exception_resolved" in out
    code, out = yirong("recon", "resolve", str(exc["id"]))
    assert code == 2 and "exactly one of" in out
    code, out = yirong("recon", "show", str(exc["id"]), "--json")
    [action] = json.loads(out.strip().splitlines()[-1])["actions"]
    assert (action["action"], action["actor"]) == ("match", "operator:li")
    out_file = tmp_path / "again.csv"
    code, out = yirong("recon", "file", "1", "--out", str(out_file))
    assert code == 0 and out_file.read_bytes() == path.read_bytes()


@pytest.mark.parametrize(
    ("content", "fmt", "code_name"),
    [
        (b"hello, world\n", "auto", "statement_format_unknown"),
        (b"[project]\nname = 'x'\n", "mt940", "statement_malformed"),
        ("账号,金额\n1,2\n".encode("utf-16"), "auto", "statement_encoding_invalid"),
    ],
)
def test_a_bad_statement_file_is_refused_whole(  # type: ignore[no-untyped-def]
    yirong, tmp_path: Path, content: bytes, fmt: str, code_name: str
) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    code, out = yirong("recon", "import", str(path), "--format", fmt)
    assert code == 2 and code_name in out, out
    assert json.loads(yirong("recon", "files", "--json")[1].strip().splitlines()[-1]) == {
        "files": []
    }


@pytest.mark.parametrize(
    ("args", "code_name"),
    [
        (["recon", "notice", "top-up", "A404", "--amount", "1", "--key", "k"], "wallet_not_found"),
        (
            ["recon", "notice", "top-up", "A001", "--amount", "1.234", "--key", "k"],
            "amount_not_yuan",
        ),
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
    assert code == 0 and "1 commissions, 1,500.00 yuan, awaiting_funds" in out
    assert "YC00000001" in out  # what the carrier quotes when it pays
    code, out = yirong("commissions", "import", str(good))
    assert code == 0 and "recorded before" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("agent,month,amount\nA001,2025-11,1.5\nA404,2025-11,3\n")
    code, out = yirong("commissions", "import", str(bad))
    assert code == 2 and "line 2" in out and "amount_not_integer" in out


def test_verify_exits_1_and_lists_a_difference(yirong) -> None:  # type: ignore[no-untyped-def]
    yirong("wallet", "open", "A001", "--name", "Shop A")
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


def test_the_books_move_on_day_by_day_and_a_withdrawal_waits_for_the_bank(  # type: ignore[no-untyped-def]
    yirong, tmp_path: Path
) -> None:
    yirong("books", "add-bank-account", RESERVE_NUMBER, "--bank", "招商银行", "--name", "易融")
    yirong("wallet", "open", "A001", "--name", "Shop A")
    pay_in = yirong("wallet", "show", "A001")[1].split("pay-in code ")[1].split()[0]
    yirong("recon", "import", str(bank_statement(yirong, tmp_path, "d.csv", (10_000, pay_in))))
    assert yirong("wallet", "withdraw", "A001", "60", "--key", "w1")[0] == 0
    assert yirong("books", "next")[1].strip() == "Business date 2026-01-06."
    code, out = yirong("books", "next", "--to", "2026-01-20")
    assert code == 0 and "2026-01-20" in out
    assert yirong("books", "today")[1].strip() == "2026-01-20"
    # No timer releases a withdrawal the bank may still pay: it stays held, and the end
    # of day lists it for an operator once it has waited too long.
    assert "available 40.00" in yirong("wallet", "show", "A001")[1]
    code, out = yirong("recon", "exceptions", "--json")
    kinds = [e["kind"] for e in json.loads(out.strip().splitlines()[-1])["exceptions"]]
    assert kinds == ["payment_not_debited"]


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
    # A 90-day line at 10.80% on 360 days: 10,000 × 0.108 × 90 / 360 = 270 yuan; simple
    # 0.027 × 365 / 90 = 10.95% (not below the rate), compound 1.027^(365/90) − 1 = 11.41%.
    code, out = yirong(
        "schedule", "--principal", "10000", "--annual-rate", "10.80", "--method", "bullet",
        "--start", "2026-01-15", "--days", "90", "--json",
    )  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    assert (code, result["total_interest"]) == (0, 27_000)
    assert (result["apr"], result["apr_compound"]) == ("0.1095", "0.1141")
    code, out = yirong(
        "schedule", "--principal", "10000", "--annual-rate", "10.80", "--method", "bullet",
        "--start", "2026-01-15", "--days", "90",
    )  # fmt: skip
    assert code == 0 and "APR 0.1095 simple" in out and "0.1141 compound" in out
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
    # Its days were reconciled: the kept result of one, the same again when run again.
    day = "2026-01-20"
    kept = runner.invoke(app, [*url, "recon", "day", "--date", day, "--json"])
    assert kept.exit_code == 0, kept.output
    found = json.loads(kept.output.strip().splitlines()[-1])
    keys = ("date", "clean", "bank_closing_fen", "books_fen", "difference_fen", "explained_fen")
    assert all(k in found for k in (*keys, "open_items")) and found["date"] == day
    assert found["difference_fen"] == found["explained_fen"] or not found["clean"]
    again = runner.invoke(app, [*url, "recon", "run", "--date", day, "--json"])
    rerun = json.loads(again.output.strip().splitlines()[-1])
    assert {k: rerun[k] for k in keys} == {k: found[k] for k in keys}
    # A statement that came later may cover the day again (the bank's export over two
    # days): that is new evidence, kept as a new version once; run again, nothing new.
    third = runner.invoke(app, [*url, "recon", "run", "--date", day, "--json"])
    assert json.loads(third.output.strip().splitlines()[-1])["versions"] == rerun["versions"]
    days = json.loads(runner.invoke(app, [*url, "recon", "days", "--json"]).output.splitlines()[-1])
    # Each end of day reconciled the day before (the reserve account was open by then).
    assert days["clean"] + days["unclean"] == counts["eod_runs"] == 35
    # A funder's files of the day, and its own loan book (ours, sent back) compared.
    out = tmp_path / "files"
    made = runner.invoke(
        app, [*url, "recon", "funder-file", "F02", "--date", day, "--out", str(out)]
    )
    assert made.exit_code == 0, made.output
    loans = out / "YIRONG_F02_LOANS_20260120.txt"
    assert loans.exists() and (out / "YIRONG_F02_LOANS_20260120.txt.ok").exists()
    compared = runner.invoke(
        app, [*url, "recon", "funder-file", "F02", "--date", day, "--compare", str(loans), "--json"]
    )
    assert json.loads(compared.output.splitlines()[-1])["clean"] is True
    loans.with_name(loans.name + ".ok").unlink()
    refused = runner.invoke(
        app, [*url, "recon", "funder-file", "F02", "--date", day, "--compare", str(loans)]
    )
    assert refused.exit_code == 2 and "funder_file_not_complete" in refused.output
    batches = runner.invoke(app, [*url, "recon", "payouts", "--date", day, "--json"])
    listed = json.loads(batches.output.splitlines()[-1])
    assert listed["payments"] == sum(b["payments"] for b in listed["batches"])


def test_nothing_is_recorded_before_the_books_are_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'unopened.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["--database", url, "db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["--database", url, "wallet", "open", "A001", "--name", "Shop"])
    assert result.exit_code == 2 and "books_not_open" in result.output, result.output
