"""Nobody's word is money: the functions that put money into the books from the
reserve account (or settle money out of it) are called only by the reconciliation,
for a bank line it matched. No route, command, page or demo step calls them; tests
and benchmarks may stand in for the bank with them."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "yirong"

# name -> the module that defines it
MONEY_FROM_THE_BANK = {
    "credit_from_bank": "wallets/service.py",
    "credit_from_bank_in": "wallets/service.py",
    "fund_order_in": "loans/funding.py",
    "apply_commission_file": "wallets/commissions.py",
    "apply_commission_file_in": "wallets/commissions.py",
    "settle_in": "payments/service.py",
}
# Who may call them: the matcher, and the benchmarks' stand-in for a bank.
ALLOWED = ("reconciliation/", "bench/")


def names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            used.update(alias.name for alias in node.names)
    return used


def test_only_the_reconciliation_moves_money_from_the_bank() -> None:
    callers: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        for name in names_used(path) & set(MONEY_FROM_THE_BANK):
            if relative != MONEY_FROM_THE_BANK[name]:
                callers.setdefault(name, []).append(relative)
    wrong = {
        name: [c for c in found if not c.startswith(ALLOWED)] for name, found in callers.items()
    }
    assert {name: found for name, found in wrong.items() if found} == {}
    # ... and the matcher does call them (this test would pass vacuously otherwise).
    assert "reconciliation/matching.py" in callers["fund_order_in"]
    assert "reconciliation/matching.py" in callers["credit_from_bank_in"]


def test_no_edge_books_a_payment_or_a_funding_on_someones_word() -> None:
    """The edges (routes, commands) reach notices for what people say, never the
    ledger's posting functions for the reserve account."""
    for path in sorted(SRC.rglob("*.py")):
        if path.name not in ("views.py", "cli.py"):
            continue
        used = names_used(path)
        assert not used & {"post_pending", "PostPending", "settle_in"}, path
