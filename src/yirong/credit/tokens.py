"""Pseudonymous tokens: what a funder calls an agent before any consent to apply.

HMAC-SHA256 of the funder and agent codes under the platform's secret: stable for a
funder (it can follow an agent over months), meaningless to another funder, and not
reversible without the secret."""

from __future__ import annotations

import hashlib
import hmac

from yirong.config import settings

TOKEN_LENGTH = 24


def funder_token(funder_code: str, agent_code: str, secret: str | None = None) -> str:
    key = (secret or settings().secret_key).encode()
    digest = hmac.new(key, f"{funder_code}:{agent_code}".encode(), hashlib.sha256)
    return digest.hexdigest()[:TOKEN_LENGTH]
