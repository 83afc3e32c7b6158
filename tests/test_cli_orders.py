"""``yirong order`` as a user types it, on the order market of tests/orders (SQLite):
suppliers, an order entered line by line, a refusal with its code, a financing asked
for, approved and held at the gate, and the funder's book."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.orders.market import SUPPLIER, OrderMarket, build_order_market, ready_order
from yirong.books.service import current_business_date
from yirong.cli import app
from yirong.cli_support import console, err_console

Yirong = Callable[..., tuple[int, str]]
# A second valid unified social credit code (GB 32100 check character), not DIST1's.
OTHER_USCC = "91440300MA5G12345L"


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> OrderMarket:
    return build_order_market("sqlite", tmp_path_factory.mktemp("orders-cli"))


@pytest.fixture(scope="module")
def yirong(market: OrderMarket) -> Yirong:
    """The command line on the market's database (wide enough that no table wraps)."""
    url = market.db.url.render_as_string(hide_password=False)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        # The console was made when the CLI was first imported, perhaps by another
        # test of this worker: its width is set here, not read from COLUMNS.
        console.width = err_console.width = 250
        result = runner.invoke(
            app, ["--database", url, *args], env={"COLUMNS": "250", "YIRONG_OPERATOR": "li"}
        )
        return result.exit_code, result.output

    return run


def reference(prefix: str, out: str) -> str:
    found = re.search(rf"\b{prefix}[A-Za-z0-9_-]+", out)
    assert found, out
    return found.group(0)


def test_a_supplier_registered_verified_and_listed(yirong: Yirong) -> None:
    code, out = yirong(
        "order", "supplier", "register", "DIST2", "--name", "杭州某电子有限公司",
        "--uscc", OTHER_USCC, "--account", "6214 8300 0099 8877", "--bank", "工商银行",
        "--not-whitelisted",
    )  # fmt: skip
    assert code == 0, out
    assert "Registered supplier DIST2" in out and "NOT verified" in out
    assert "NOT whitelisted" in out and "6214830000998877" in out
    # The same firm under another code is refused with its code.
    code, out = yirong(
        "order", "supplier", "register", "DIST3", "--name", "Again", "--uscc", OTHER_USCC,
        "--account", "6214830000998878", "--bank", "工商银行",
    )  # fmt: skip
    assert code == 2 and "supplier_firm_taken" in out
    code, out = yirong("order", "supplier", "verify", "DIST2")
    assert code == 0 and "DIST2's account 6214830000998877 verified on" in out, out
    code, out = yirong("order", "supplier", "whitelist", "DIST2", "--on")
    assert code == 0 and "DIST2 is on the whitelist" in out
    code, out = yirong("order", "supplier", "list")
    assert code == 0, out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if "│ DIST" in line}
    assert set(rows) == {"DIST1", "DIST2"}
    assert OTHER_USCC in rows["DIST2"] and "yes" in rows["DIST2"]
    assert re.search(r"\d{4}-\d{2}-\d{2}", rows["DIST2"])  # the day it was verified
    code, out = yirong("order", "supplier", "verify", "DIST9")
    assert code == 2 and "supplier_not_found" in out


def test_an_order_entered_line_by_line_and_entered_again(
    yirong: Yirong, market: OrderMarket, tmp_path: Path
) -> None:
    agent = market.code(1)
    delivery = current_business_date(market.db) + timedelta(days=5)
    enter = (
        "order", "enter", agent, SUPPLIER, "PO-CLI-1",
        "--line", "Phone: model A:3:1,299.50", "--line", "Charger:10:45.05",
        "--delivery", str(delivery),
    )  # fmt: skip
    code, out = yirong(*enter, "--key", "e1")
    assert code == 0, out
    order = reference("po_", out)
    # 3 x 1,299.50 + 10 x 45.05 = 3,898.50 + 450.50 = 4,349.00 yuan.
    assert "4,349.00 yuan in 2 line(s)" in out
    # The same key again answers with the first order; another key, the same number: refused.
    code, out = yirong(*enter, "--key", "e1")
    assert code == 0 and order in out and "nothing new" in out
    code, out = yirong(*enter, "--key", "e2")
    assert code == 2 and "order_taken" in out and "PO-CLI-1" in out
    code, out = yirong(
        "order", "enter", agent, SUPPLIER, "PO-CLI-2", "--line", "Phone:1:9.999",
        "--delivery", str(delivery), "--key", "e3",
    )  # fmt: skip
    assert code == 2 and "amount_not_yuan" in out

    contract = tmp_path / "contract.pdf"
    contract.write_bytes(b"%PDF the contract of PO-CLI-1")
    code, out = yirong("order", "attach", order, "contract", str(contract))
    assert code == 0 and "application/pdf" in out, out
    code, out = yirong("order", "confirm", order, "--supplier", SUPPLIER)
    assert code == 0 and "confirmed" in out and "operator:li" in out, out
    code, out = yirong("order", "change", order, "short_delivery", "49", "--note", "one short",
                       "--key", "c1")  # fmt: skip
    assert code == 0 and "worth 4,300.00 yuan now" in out, out
    code, out = yirong("order", "show", order)
    assert code == 0, out
    assert hashlib.sha256(contract.read_bytes()).hexdigest() in out
    assert "Phone: model A" in out and "1,299.50" in out and "short_delivery 49.00" in out
    code, out = yirong("order", "list", agent)
    assert code == 0 and order in out and "4,300.00" in out


def test_a_financing_refused_over_the_rate_then_approved_and_held_at_the_gate(
    yirong: Yirong, market: OrderMarket
) -> None:
    db, agent = market.db, market.code(0)
    order = ready_order(
        db, agent, "PO-CLI-F", delivery=current_business_date(db) + timedelta(days=10)
    )
    # The order is 10,000.00 yuan; O1 advances at most 80% of it: 8,000.00.
    code, out = yirong("order", "finance", agent, order, "8000.01", "--key", "f0")
    assert code == 2 and "advance_over_rate" in out, out
    code, out = yirong("order", "finance", agent, order, "8000", "--key", "f1")
    assert code == 0, out
    financing = reference("of_", out)
    assert "(requested)" in out and "8,000.00 yuan from O1 for 40 days" in out
    assert "part 2,000.00 and margin 800.00 held" in out
    code, out = yirong("order", "approve", "O1", financing)
    assert code == 0 and "approved" in out, out
    loan = re.search(r"must quote (\S+)\.", out)
    assert loan, out
    code, out = yirong("order", "gate", financing)
    assert code == 1
    assert out.split("missing:")[1].split() == ["funder_money_not_arrived"]
    code, out = yirong("order", "pay", financing)
    assert code == 2 and "payout_gate_failed" in out and "funder_money_not_arrived" in out
    code, out = yirong("order", "financings", "--funder", "O1")
    assert code == 0 and financing in out and f"{loan.group(1)} requested" in out

    code, out = yirong("order", "book", "O1")
    assert code == 0, out
    by_supplier, by_agent = out.split("by agent")
    [row] = [line for line in by_supplier.splitlines() if f"│ {SUPPLIER}" in line]
    assert "8,000.00" in row  # advanced, not yet paid out
    assert agent in by_agent
    assert "At risk in all: 8,000.00 yuan." in out
    code, out = yirong("order", "book", "O9")
    assert code == 2 and "funder_not_found" in out
