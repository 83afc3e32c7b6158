"""Signing in to the console as a browser does, and reading a page's form tokens."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

PASSWORD = "a-long-enough-password-1"


def token(page: str) -> str:
    """The CSRF token the page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "every form carries its CSRF token"
    return found.group(1)


def form_key(page: str) -> str:
    """The idempotency key a confirming form carries."""
    found = re.search(r'name="key" value="([^"]+)"', page)
    assert found, "a form that moves money carries its key"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    form = {"username": username, "password": password, "csrf_token": token(client.get("/").text)}
    return client.post("/signin", data=form, follow_redirects=False)


def figures(page: str) -> dict[str, str]:
    """The page's key figures, by their label."""
    return dict(
        re.findall(r'<div class="label">([^<]+)</div><div class="value">([^<]+)</div>', page)
    )
