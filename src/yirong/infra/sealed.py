"""Secrets the platform must keep readable to sign with (funders' events and decider
secrets) are stored sealed: Fernet (AES-128-CBC with HMAC-SHA256, from
``cryptography``) under a key derived from ``YIRONG_SECRET_KEY`` by HKDF, so a copy of
the database alone, or of a backup, does not give them away.

A column of type ``Sealed`` seals on the way in and opens on the way out; a value
written before sealing existed (no ``fernet:`` prefix) is read as it is, and sealed
the next time it is written."""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from yirong.config import settings
from yirong.errors import YirongError

PREFIX = "fernet:"
# Room for a secret of up to 200 characters once sealed: the prefix, then base64 of
# version, time, IV, the padded text and the MAC.
SEALED_LENGTH = 500


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"yirong sealed secrets v1"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(plain: str) -> str:
    return PREFIX + _fernet(settings().secret_key).encrypt(plain.encode()).decode()


def unseal(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before sealing
    try:
        return _fernet(settings().secret_key).decrypt(stored[len(PREFIX) :]).decode()
    except InvalidToken as exc:
        raise YirongError("sealed_secret_unreadable") from exc


class Sealed(TypeDecorator[str]):
    """A string column stored sealed."""

    impl = String(SEALED_LENGTH)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else seal(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else unseal(str(value))
