"""An API client for tests: the app on a test database, and signed-in callers.

Sign-ins are created through the service (Argon2 hashing takes a moment, so each test
makes only the callers it needs); their tokens come from the real sign-in route."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from json import dumps
from typing import Any

import httpx
from fastapi.testclient import TestClient

from yirong.access.service import create_user, issue_api_key, issue_supplier_api_key
from yirong.access.signing import signature_headers
from yirong.api.app import create_app
from yirong.infra.db import Database
from yirong.orders.suppliers import supplier_row

_keys = count(1)


@dataclass
class Caller:
    """One signed-in caller: ``caller.get(...)``, ``caller.post(..., key=...)``."""

    client: TestClient
    headers: dict[str, str]
    handle: str
    extra: dict[str, Any] = field(default_factory=dict)
    signing_secret: str | None = None  # a funder's or a supplier's system signs its calls

    def get(self, url: str, *, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.client.get(url, headers={**self.headers, **(headers or {})}, **kw)

    def post(
        self, url: str, json: Any = None, *, key: str | None = None, **kw: Any
    ) -> httpx.Response:
        """``key``: the Idempotency-Key; "auto" makes a fresh one. A funder's system
        (``signing_secret`` given) signs the request as sent, as its client would."""
        headers = {**self.headers, **kw.pop("headers", {})}
        if key is not None:
            headers["Idempotency-Key"] = f"k{next(_keys)}" if key == "auto" else key
        if self.signing_secret is None:
            return self.client.post(url, json=json, headers=headers, **kw)
        body: bytes = kw.pop("content", None) or b""
        if json is not None:
            body = dumps(json).encode()
            headers.setdefault("Content-Type", "application/json")
        target = httpx.URL(url, params=kw.pop("params", None)).raw_path.decode()
        headers.update(signature_headers(self.signing_secret, "POST", target, body))
        return self.client.post(target, content=body, headers=headers, **kw)

    def put(self, url: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.client.put(url, json=json, headers=self.headers, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.delete(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)


class Api:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.app = create_app(db)
        self.client = TestClient(self.app, raise_server_exceptions=False)

    def sign_in(self, role: str, subject: str) -> Caller:
        """A person of ``role`` acting for ``subject`` (agent code, funder code, or an
        operator's name), signed in through POST /api/v1/auth/token."""
        username = f"{role}-{subject}".lower()
        password = f"{username}-password"
        create_user(self.db, username, password, role, subject)
        answer = self.client.post(
            "/api/v1/auth/token", json={"username": username, "password": password}
        )
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        return Caller(
            self.client,
            {"Authorization": f"Bearer {token}"},
            f"{role}:{subject}",
            {"username": username, "password": password},
        )

    def again(self, caller: Caller) -> Caller:
        """A second session of the same person (sign-in again)."""
        answer = self.client.post(
            "/api/v1/auth/token",
            json={"username": caller.extra["username"], "password": caller.extra["password"]},
        )
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        return Caller(
            self.client, {"Authorization": f"Bearer {token}"}, caller.handle, caller.extra
        )

    def funder_system(self, funder: str) -> Caller:
        """A funder's system, with an API key, signing its calls."""
        issued = issue_api_key(self.db, funder, "tests")
        return Caller(
            self.client,
            {"Authorization": f"Bearer {issued.key}"},
            f"funder:{funder}",
            signing_secret=issued.signing_secret,
        )

    def supplier_system(self, supplier: str) -> Caller:
        """A supplier's system, with an API key (its only credential), signing its calls."""
        issued = issue_supplier_api_key(self.db, supplier, "tests", check_supplier=supplier_row)
        return Caller(
            self.client,
            {"Authorization": f"Bearer {issued.key}"},
            f"supplier:{supplier}",
            signing_secret=issued.signing_secret,
        )

    def anonymous(self) -> Caller:
        return Caller(self.client, {}, "anonymous")


def problem_code(response: httpx.Response) -> str:
    """The stable code of a refusal, checking it is a problem document."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = response.json()
    assert body["status"] == response.status_code
    code: str = body["code"]
    return code


def upload_statement(ops: Caller, content: bytes, filename: str) -> httpx.Response:
    """An operator imports a bank statement file through the API."""
    return ops.post(
        "/api/v1/bank-statements",
        key="auto",
        params={"filename": filename},
        content=content,
        headers={"Content-Type": "application/octet-stream"},
    )
