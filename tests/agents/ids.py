"""Check digits computed here, by the standards' own rules, so that the tests do not
lean on the library the code under test uses."""

from __future__ import annotations

from datetime import date

# GB 11643-1999: weights 2^(17-i) mod 11, check = "10X98765432"[sum mod 11].
_RIC_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


def resident_id(area: str, born: date, sequence: str) -> str:
    return with_check_digit(f"{area}{born:%Y%m%d}{sequence}")


def with_check_digit(body: str) -> str:
    """The 17 leading characters of a resident ID, with its check character."""
    assert len(body) == 17
    total = sum(int(c) * w for c, w in zip(body, _RIC_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def luhn(body: str) -> str:
    """``body`` with the Luhn check digit appended."""
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)
