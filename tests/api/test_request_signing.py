"""Signed requests from funders' systems (issue 13, point 5; docs/request-signing.md),
on both databases: a money-moving call made with an API key is refused unless signed,
as sent, within five minutes, with a nonce never used before, so a captured key alone
can neither make nor replay one; a person's session does not sign; which routes are
signed is written here by hand."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpx import Response
from sqlalchemy import select

from tests.api.client import Api, Caller, problem_code
from tests.credit.market import Market
from tests.databases import BACKENDS
from tests.loans.story import market_with_line
from yirong.access.secrets import signing_secret
from yirong.access.signing import NONCE, SIGNATURE, TIMESTAMP, signature_headers
from yirong.access.tables import ApiKey, RequestNonce
from yirong.api.app import access_of
from yirong.api.idempotency import idempotency_key
from yirong.loans.drawdowns import request_drawdown
from yirong.roles import Role

V1 = "/api/v1"
DOC = Path(__file__).parents[2] / "docs" / "request-signing.md"
# Written by hand: the routes a funder's system must sign (those that move money).
SIGNED = {
    ("POST", "/api/v1/fundings"),
    ("POST", "/api/v1/wallets/{handle}/withdrawals"),
}


def test_the_worked_example_of_the_docs_computed_by_hand() -> None:
    secret = "yrsig_3f1c0a9e5b7d2f4a6c8e0b1d3f5a7c9e2b4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a"
    body = b'{"order_ref":"YR00000001","amount":300000,"bank_ref":"T1-20260105-0001"}'
    digest = hashlib.sha256(body).hexdigest()
    signed = f"POST\n/api/v1/fundings\n1767600000\n5f2b9c0e7d1a4e3b8c6d\n{digest}"
    by_hand = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
    doc = DOC.read_text()
    assert f"signing secret: `{secret}`" in doc
    assert body.decode() in doc
    assert f"body SHA-256: `{digest}`" in doc
    assert f"```\n{signed}\n```" in doc
    assert f"signature: `{by_hand}`" in doc
    assert signature_headers(
        secret, "POST", "/api/v1/fundings", body, timestamp=1767600000, nonce="5f2b9c0e7d1a4e3b8c6d"
    ) == {TIMESTAMP: "1767600000", NONCE: "5f2b9c0e7d1a4e3b8c6d", SIGNATURE: by_hand}


@pytest.fixture(params=BACKENDS)
def market(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Market]:
    """Agent 0 holds a line from T1."""
    made = market_with_line(request.param, tmp_path)
    yield made
    made.db.dispose()


def test_a_money_moving_call_with_a_key_is_signed_as_sent_in_time_and_once(
    market: Market,
) -> None:
    db = market.db
    api = Api(db)
    t1 = api.funder_system("T1")
    assert t1.signing_secret is not None
    secret = t1.signing_secret
    order = request_drawdown(db, market.code(0), 300_000, 30, "signed-1")
    raw = json.dumps(
        {"order_ref": order.order_ref, "amount": 300_000, "bank_ref": "T1-REF-1"}
    ).encode()
    url = f"{V1}/fundings"

    def send(signed: dict[str, str], content: bytes = raw, path: str = url) -> Response:
        headers = {**t1.headers, "Content-Type": "application/json", "Idempotency-Key": "n-1"}
        return api.client.post(path, content=content, headers={**headers, **signed})

    def refused(answer: Response) -> str:
        assert answer.status_code == 401, answer.text
        return problem_code(answer)

    now = int(time.time())
    fresh = signature_headers(secret, "POST", url, raw)
    assert refused(send({})) == "signature_missing"
    assert refused(send({k: v for k, v in fresh.items() if k != NONCE})) == "signature_missing"
    assert refused(send({**fresh, SIGNATURE: "not-hex"})) == "signature_invalid"
    assert refused(send({**fresh, NONCE: "short"})) == "signature_invalid"
    # Signed, then changed on the way: the body, the path, the query, the timestamp.
    assert refused(send(fresh, content=raw.replace(b"300000", b"300001"))) == "signature_invalid"
    withdrawal = f"{V1}/wallets/funder:T1/withdrawals"
    assert refused(send(fresh, path=withdrawal)) == "signature_invalid"
    assert refused(send(fresh, path=f"{url}?x=1")) == "signature_invalid"
    assert refused(send({**fresh, TIMESTAMP: str(now - 1)})) == "signature_invalid"
    # Signed with another key's secret (the same funder's), or the key's own secret
    # under another server key: neither is this key's.
    other = api.funder_system("T1").signing_secret
    assert other is not None
    assert refused(send(signature_headers(other, "POST", url, raw))) == "signature_invalid"
    key = t1.headers["Authorization"].removeprefix("Bearer ")
    elsewhere = signing_secret(key, "another-server-key-of-at-least-32-chars")
    assert refused(send(signature_headers(elsewhere, "POST", url, raw))) == "signature_invalid"
    # Right, but more than five minutes old (or ahead), with a few seconds' margin for
    # the time this test takes.
    for off in (-310, 310):
        stale = signature_headers(secret, "POST", url, raw, timestamp=int(time.time()) + off)
        assert refused(send(stale)) == "signature_expired"
    # None of it recorded anything, nor used up the Idempotency-Key.
    assert t1.get(f"{V1}/notices").json()["items"] == []
    good = signature_headers(secret, "POST", url, raw, timestamp=int(time.time()) - 280)
    first = send(good)
    assert first.status_code == 201, first.text
    assert first.json()["target"] == order.order_ref
    # The very same request again (captured on the way): refused, whatever the key.
    assert refused(send(good)) == "signature_replayed"
    replayed = api.client.post(
        url,
        content=raw,
        headers={
            **t1.headers,
            **good,
            "Idempotency-Key": "n-2",
            "Content-Type": "application/json",
        },
    )
    assert refused(replayed) == "signature_replayed"
    # A retry signed anew gets the first answer and moves nothing twice.
    again = send(signature_headers(secret, "POST", url, raw))
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert len(t1.get(f"{V1}/notices").json()["items"]) == 1
    # Only the nonces of requests whose signature was good are kept.
    nonces = db.run(lambda tx: sorted(tx.conn.scalars(select(RequestNonce.nonce))))
    assert len(nonces) == 2 and good[NONCE] in nonces
    # Neither the key nor its signing secret is stored.
    stored = db.run(lambda tx: [tuple(r) for r in tx.session.execute(select(ApiKey)).all()])
    assert secret not in repr(stored) and key not in repr(stored)


def test_a_person_signed_in_does_not_sign(market: Market) -> None:
    api = Api(market.db)
    staff = api.sign_in("funder", "T1")
    order = request_drawdown(market.db, market.code(0), 200_000, 30, "staff-1")
    said = staff.post(
        f"{V1}/fundings",
        {"order_ref": order.order_ref, "amount": 200_000, "bank_ref": "T1-STAFF-1"},
        key="auto",
    )
    assert said.status_code == 201, said.text


def test_the_body_is_signed_as_sent_not_as_put_in_nfc(market: Market) -> None:
    api = Api(market.db)
    t1 = api.funder_system("T1")
    assert t1.signing_secret is not None
    # "e" and a combining acute: the platform puts it in NFC ("é") before the route.
    raw = '{"order_ref": "YR1", "amount": 1, "bank_ref": "e\u0301"}'.encode()
    url = f"{V1}/fundings"
    answer = api.client.post(
        url,
        content=raw,
        headers={
            **t1.headers,
            **signature_headers(t1.signing_secret, "POST", url, raw),
            "Content-Type": "application/json",
            "Idempotency-Key": "nfc",
        },
    )
    # Past the signature; refused by the route's own rule (a reference is ASCII).
    assert answer.status_code == 422 and problem_code(answer) == "request_invalid"


def _example(path: str) -> str:
    return re.sub(
        r"\{(\w+)\}",
        lambda m: {"funder": "T1", "code": "T1", "handle": "funder:T1"}.get(m[1], "1"),
        path,
    ).replace("/files/1/1", "/files/2026-01-05/loans")


def test_which_routes_a_key_must_sign_written_by_hand(market: Market) -> None:
    api = Api(market.db)
    routes = [r for r in api.app.state.api_routes if access_of(r) is not None]
    money = {
        (method, r.path)
        for r in routes
        for method in r.methods
        if Role.FUNDER in access_of(r).roles  # type: ignore[union-attr]
        and any(d.call is idempotency_key for d in r.dependant.dependencies)
    }
    assert money == SIGNED
    calls = sorted(
        (method, r.path)
        for r in routes
        for method in r.methods
        if method != "GET" and Role.FUNDER in access_of(r).roles  # type: ignore[union-attr]
    )
    assert len(calls) > 10
    for method, template in calls:
        path = _example(template)
        system = api.funder_system("T1")  # a key of its own: some of these revoke it
        unsigned = _call(system, method, path, None)
        if (method, template) in SIGNED:
            assert unsigned.status_code == 401, (template, unsigned.text)
            assert problem_code(unsigned) == "signature_missing"
            assert system.signing_secret is not None
            signed = _call(system, method, path, system.signing_secret)
            assert not signed.json().get("code", "").startswith("signature_"), signed.text
        else:
            code = unsigned.json().get("code", "") if unsigned.content else ""
            assert not code.startswith("signature_"), (template, unsigned.text)


def _call(system: Caller, method: str, path: str, secret: str | None) -> Response:
    raw = b'{"amount": 100}'
    headers = {**system.headers, "Content-Type": "application/json", "Idempotency-Key": "r-1"}
    if secret is not None:
        headers.update(signature_headers(secret, method, path, raw))
    return system.client.request(method, path, content=raw, headers=headers)
