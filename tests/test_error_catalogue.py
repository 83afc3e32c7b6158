"""The error catalogue is the contract: every code in it is one Yirong gives, every
code Yirong gives is in it, and every code is named by a test (one that provokes it).

Codes are found in the source by where they are given, not by any string that looks
like one: the table below lists each way a refusal's code is written in ``src``."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from yirong.errors import CATALOGUE

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "yirong"
TESTS = ROOT / "tests"

# callee -> which of its positional arguments is the code it gives
CODE_ARGUMENT = {
    "YirongError": 0,
    "_Refused": 0,  # the ledger's rules, turned into a YirongError by the ledger service
    "hidden": 0,  # another party's record answers as a missing one
    "problem_response": 1,  # a problem document written without an exception
    "_check_code": 1,  # funders: the code a malformed funder or product code gives
    "PublicRef": 2,  # a public reference that is not one of ours: its record is missing
}
# module -> callee -> position, where the callee's name is used elsewhere for other things
MODULE_CODE_ARGUMENT = {
    "ledger/rules.py": {"Decision": 1},  # the ledger's outcome of one request
}
# functions whose returned strings are codes, given by their callers
CODE_RETURNERS = {
    "_first_difference",  # ledger: the first field an idempotent retry changed
    "_check_body",  # API middleware: the refusal of a body or query, or the body
}
# a variable that holds a code to give (the API's handler of Starlette's HTTP errors)
CODE_VARIABLE = "code"
# module-level tables whose entries end in the code they refuse with
REFUSAL_TABLES = {"TRANSITIONS"}  # loans: event -> (from, to, refusal)
# The code arguments that are not written as a string: each passes on a code that was
# written in one of the ways above (or comes from the catalogue itself).
FORWARDED = {
    "refusal",  # lifecycle.after: TRANSITIONS' refusal
    "code",  # security.hidden's parameter; problems: the variable
    "error",  # funders._check_code's parameter
    "self.missing",  # PublicRef's field
    "exc.code",  # problems.refusal_response: a YirongError's own code
    "refusal.code",  # ledger: a _Refused's code
    "first.status",  # ledger: a Decision's status
    "decision.status",
    "_first_difference(request, earlier)",
    "CREATED",  # the ledger's two outcomes that are not refusals
    "EXISTS",
}
# Catalogued codes a pre-approval run counts in its report (proposals it refused),
# rather than raises: code -> the module that reports it.
REPORTED = {
    "offer_outside_product": "credit/preapproval.py",
    "product_not_found": "credit/preapproval.py",
}

QUOTED = re.compile(r"""["']([a-z][a-z0-9_]*)["']""")


def _strings(node: ast.AST) -> Iterator[str]:
    """The string literals an expression may evaluate to."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)
    elif isinstance(node, ast.BoolOp):  # found or "..."
        for value in node.values:
            yield from _strings(value)
    elif (  # {404: "...", 405: "..."}.get(status)
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Dict)
    ):
        for value in node.func.value.values:
            yield from _strings(value)


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _own_statements(function: ast.AST) -> Iterator[ast.AST]:
    """A function's nodes, leaving out the functions it defines (their returns are
    not its own)."""
    for child in ast.iter_child_nodes(function):
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield child
            yield from _own_statements(child)


def _module(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _code_arguments(path: Path, tree: ast.AST) -> Iterator[ast.expr]:
    positions = {**CODE_ARGUMENT, **MODULE_CODE_ARGUMENT.get(_module(path), {})}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            position = positions.get(_callee(node) or "")
            if position is not None and len(node.args) > position:
                yield node.args[position]


def _codes_given(path: Path, tree: ast.AST) -> Iterator[str]:
    for argument in _code_arguments(path, tree):
        yield from _strings(argument)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
            node.name in CODE_RETURNERS
        ):
            for inner in _own_statements(node):
                if isinstance(inner, ast.Return) and inner.value is not None:
                    yield from _strings(inner.value)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if CODE_VARIABLE in names and node.value is not None:
                yield from _strings(node.value)
            if names & REFUSAL_TABLES and isinstance(node.value, ast.Dict):
                for entry in node.value.values:
                    assert isinstance(entry, ast.Tuple), ast.unparse(entry)
                    yield from _strings(entry.elts[-1])


def _sources() -> Iterator[tuple[Path, ast.AST]]:
    for path in sorted(SRC.rglob("*.py")):
        if path.name != "errors.py":
            yield path, ast.parse(path.read_text(), str(path))


def codes_given() -> dict[str, set[str]]:
    """code -> the modules that give it."""
    given: dict[str, set[str]] = {}
    for path, tree in _sources():
        for code in _codes_given(path, tree):
            given.setdefault(code, set()).add(_module(path))
    return given


def codes_named_by_tests() -> set[str]:
    named: set[str] = set()
    for path in TESTS.rglob("*.py"):
        if path != Path(__file__).resolve():
            named |= set(QUOTED.findall(path.read_text()))
    return named


def test_every_code_argument_is_written_out_or_passed_on() -> None:
    """The parse sees every code: a code argument is a string, or one of the few
    names that pass on a code written elsewhere."""
    unread = []
    for path, tree in _sources():
        for argument in _code_arguments(path, tree):
            if next(_strings(argument), None) is None:
                text = ast.unparse(argument)
                if text not in FORWARDED:
                    unread.append(f"{_module(path)}:{argument.lineno}: {text}")
    assert unread == []


def test_every_catalogued_code_is_given_somewhere() -> None:
    given = codes_given()
    for code, module in REPORTED.items():
        assert code in (SRC / module).read_text(), (code, module)
        assert code not in given, f"{code} is raised: it needs no REPORTED entry"
    never = sorted(set(CATALOGUE) - set(given) - set(REPORTED))
    assert never == []


def test_every_given_code_is_catalogued() -> None:
    uncatalogued = {c: sorted(m) for c, m in codes_given().items() if c not in CATALOGUE}
    assert uncatalogued == {}


def test_every_catalogued_code_is_named_by_a_test() -> None:
    untested = sorted(set(CATALOGUE) - codes_named_by_tests())
    assert untested == []


def test_the_parse_finds_each_way_a_code_is_given() -> None:
    """Known codes, one for each way of giving one, are found where they are given
    (so that an empty parse cannot pass the tests above)."""
    given = codes_given()
    expected = {
        "agent_code_taken": "agents/service.py",  # YirongError("...")
        "exceeds_credits": "ledger/rules.py",  # _Refused("...")
        "exists_with_different_accounts": "ledger/rules.py",  # returned
        "id_already_failed": "ledger/rules.py",  # Decision(request, "...")
        "wallet_not_found": "wallets/views.py",  # hidden("...")
        "idempotency_key_required": "api/idempotency.py",  # problem_response
        "funder_code_invalid": "funders/service.py",  # _check_code(..., "...")
        "line_not_found": "credit/tables.py",  # PublicRef(..., "...")
        "body_too_large": "api/observability.py",  # returned by _check_body
        "method_not_allowed": "api/problems.py",  # code = {...}.get(...) or (...)
        "drawdown_not_lent": "loans/model/lifecycle.py",  # TRANSITIONS
    }
    assert {c: m for c, m in expected.items() if m not in given.get(c, set())} == {}
