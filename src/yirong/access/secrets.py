"""Hashing what callers prove themselves with. Passwords (chosen by people, guessable)
get Argon2id, slow on purpose; tokens and API keys are 256 random bits, for which one
SHA-256 is enough and lets a request be checked with a single indexed lookup."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # the library's defaults follow RFC 9106's recommendation
# Checked against when the username is unknown, so that a wrong username takes as long
# as a wrong password and does not tell which usernames exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

SESSION_PREFIX = "yrs_"
API_KEY_PREFIX = "yrk_"
SIGNING_PREFIX = "yrsig_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """(prefix, full key): the prefix names the key in lists and logs; the rest is secret."""
    prefix = API_KEY_PREFIX + secrets.token_hex(4)
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


def api_key_prefix(key: str) -> str | None:
    prefix = key[:12]
    return prefix if prefix.startswith(API_KEY_PREFIX) and key[12:13] == "_" else None


def signing_secret(api_key: str, server_key: str) -> str:
    """The secret a funder's system signs its money-moving calls with: derived from
    the server's secret key and the key's prefix and hash, so nothing more is stored
    and neither the key nor a copy of the database gives it. The same secret key
    always gives it again; a new secret key gives every key a new one."""
    material = f"signing:{api_key[:12]}:{digest(api_key)}".encode()
    return SIGNING_PREFIX + hmac.new(server_key.encode(), material, hashlib.sha256).hexdigest()
