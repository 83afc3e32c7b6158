"""What an attacker tries first, each a regression test: control and format characters
in text are refused whole (and text is kept in NFC); every response carries the
security headers and nothing the API answers is cached; a month out of range is a
plain 422, not a 500; a database error never shows a statement's parameters."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from tests.api.client import Api, problem_code
from tests.api.test_authorization_matrix import new_firm
from tests.databases import BACKENDS
from tests.loans.story import market_with_lines
from yirong.infra.db import Database

V1 = "/api/v1"


@pytest.mark.parametrize(
    "name",
    [
        "坏\x00人",  # NUL: on PostgreSQL, an error carrying the statement's parameters
        "Shop\u202eA",  # RIGHT-TO-LEFT OVERRIDE: shows another text than is stored
        "Shop\u200bA",  # ZERO WIDTH SPACE: two names that look the same
        "Shop\nA",  # a line break in a one-line field
    ],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_control_and_format_characters_are_refused_whole(
    backend: str, name: str, tmp_path: Path
) -> None:
    market = market_with_lines(backend, tmp_path, 2)
    api = Api(market.db)
    ops = api.sign_in("operator", "ops")
    firm = {**new_firm(), "name": name}
    before = ops.get(f"{V1}/agents", params={"limit": 200}).json()
    refused = ops.post(f"{V1}/agents", firm)
    assert refused.status_code == 422 and problem_code(refused) == "text_invalid"
    assert ops.get(f"{V1}/agents", params={"limit": 200}).json() == before
    # In a query too.
    assert problem_code(ops.get(f"{V1}/agents", params={"cursor": "a\u202eb"})) == "text_invalid"


@pytest.mark.parametrize("backend", BACKENDS)
def test_text_is_kept_in_nfc(backend: str, tmp_path: Path) -> None:
    market = market_with_lines(backend, tmp_path, 2)
    api = Api(market.db)
    ops = api.sign_in("operator", "ops")
    decomposed = unicodedata.normalize("NFD", "Café 易融")
    assert decomposed != "Café 易融"
    made = ops.post(f"{V1}/agents", {**new_firm(), "name": decomposed})
    assert made.status_code == 201, made.text
    shown = ops.get(f"{V1}/agents/{made.json()['code']}").json()
    assert shown["name"] == "Café 易融"


@pytest.mark.parametrize("backend", BACKENDS)
def test_security_headers_and_no_caching(backend: str, tmp_path: Path) -> None:
    market = market_with_lines(backend, tmp_path, 2)
    api = Api(market.db)
    ops = api.sign_in("operator", "ops")
    for response in (
        ops.get(f"{V1}/me"),
        api.anonymous().get(f"{V1}/me"),  # a refusal too
        api.anonymous().get("/healthz"),
    ):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in headers  # plain http on loopback
    token = api.anonymous().post(
        f"{V1}/auth/token", json={"username": "nobody", "password": "wrong-password"}
    )
    assert token.headers["cache-control"] == "no-store"
    docs = api.anonymous().get("/docs")
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "2026-13", "2026-1", "２０２６-01"])
def test_a_month_out_of_range_is_a_plain_refusal(month: str, tmp_path: Path) -> None:
    market = market_with_lines("sqlite", tmp_path, 2)
    api = Api(market.db)
    t1 = api.sign_in("funder", "T1")
    answer = t1.get(f"{V1}/funders/T1/statements/{month}")
    assert answer.status_code == 422 and problem_code(answer) == "month_invalid"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_database_error_never_shows_its_parameters(backend: str, tmp_path: Path) -> None:
    market = market_with_lines(backend, tmp_path, 2)
    db: Database = market.db
    secret = "110101199003077777"  # an ID number

    def fail(tx):  # type: ignore[no-untyped-def]
        tx.conn.execute(text("SELECT * FROM no_such_table WHERE x = :id"), {"id": secret})

    with pytest.raises(StatementError) as caught:
        db.run(fail)
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value)
