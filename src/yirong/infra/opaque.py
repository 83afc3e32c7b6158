"""Public numbers that do not count: a keyed permutation of a decimal range, so that a
reference on the wire (an order's, an event's, a page cursor) shows neither how many
came before it nor which comes next, and the platform turns it back without storing
anything.

The permutation is a balanced Feistel network over two decimal halves (the shape of
NIST SP 800-38G's FF1, without its tweak schedule): each round adds to one half an
HMAC-SHA256 of the other under the platform's secret key. Any round function gives a
bijection; the keyed one makes it unpredictable without the key. The ``purpose``
separates the uses, so an order's number says nothing about an event's."""

from __future__ import annotations

import hashlib
import hmac

from yirong.config import settings

ROUNDS = 8


def _round(key: bytes, purpose: str, step: int, half: int, modulus: int) -> int:
    mac = hmac.new(key, f"{purpose}:{step}:{half}".encode(), hashlib.sha256).digest()
    return int.from_bytes(mac[:16], "big") % modulus


def _key(secret: str | None) -> bytes:
    return (secret or settings().secret_key).encode()


def conceal(number: int, digits: int, purpose: str, *, secret: str | None = None) -> int:
    """``number`` (0 <= number < 10**digits, ``digits`` even) to its public form."""
    modulus = 10 ** (digits // 2)
    if digits % 2 or not 0 <= number < modulus * modulus:
        raise ValueError(f"{number} does not fit {digits} digits (even)")
    key = _key(secret)
    left, right = divmod(number, modulus)
    for step in range(ROUNDS):
        left, right = right, (left + _round(key, purpose, step, right, modulus)) % modulus
    return int(left * modulus + right)


def reveal(public: int, digits: int, purpose: str, *, secret: str | None = None) -> int:
    """The inverse of ``conceal``."""
    modulus = 10 ** (digits // 2)
    if digits % 2 or not 0 <= public < modulus * modulus:
        raise ValueError(f"{public} does not fit {digits} digits (even)")
    key = _key(secret)
    left, right = divmod(public, modulus)
    for step in reversed(range(ROUNDS)):
        left, right = (right - _round(key, purpose, step, left, modulus)) % modulus, left
    return int(left * modulus + right)
