"""Public numbers that do not count: a keyed permutation of a decimal range, so that a
reference on the wire (an order's, an event's, a credit or a bank line's, a page
cursor) shows neither how many came before it nor which comes next, and the platform
turns it back without storing anything.

The permutation is a balanced Feistel network over two decimal halves (the shape of
NIST SP 800-38G's FF1, without its tweak schedule): each round adds to one half an
HMAC-SHA256 of the other under the platform's secret key. Any round function gives a
bijection; the keyed one makes it unpredictable without the key. The ``purpose``
separates the uses, so an order's number says nothing about an event's."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from yirong.config import settings
from yirong.errors import YirongError

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


@dataclass(frozen=True, slots=True)
class PublicRef:
    """A kind of record's public reference: ``prefix`` and ``digits`` digits of the
    concealed id (``cl_04818273645512`` for a credit line). Whatever is not one of
    ours answers as a missing record (``missing``), never as a malformed request, so a
    guess teaches nothing."""

    prefix: str
    purpose: str
    missing: str  # the error code of a record that is not there: line_not_found
    digits: int = 14  # 10**14 records of a kind; a string on the wire, so no JS limit

    def of(self, number: int) -> str:
        return f"{self.prefix}{conceal(number, self.digits, self.purpose):0{self.digits}d}"

    def number_of(self, reference: str) -> int:
        digits = reference.removeprefix(self.prefix)
        if (
            digits == reference
            or len(digits) != self.digits
            or not digits.isascii()
            or not digits.isdigit()
        ):
            raise YirongError(self.missing, reference=reference[:40])
        return reveal(int(digits), self.digits, self.purpose)
