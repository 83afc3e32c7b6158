"""Public numbers: a permutation (nothing lost, nothing shared), undone only with the
key, and not counting: neighbours land far apart."""

from __future__ import annotations

import hashlib
import hmac
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yirong.errors import YirongError
from yirong.infra.opaque import PublicRef, conceal, reveal

KEY = "k" * 40


def by_hand(number: int, key: str, purpose: str) -> int:
    """The Feistel network written out again, from its description: 8 rounds over two
    halves of 5 digits, each adding HMAC-SHA256(key, "purpose:round:half") mod 10**5."""
    left, right = divmod(number, 10**5)
    for step in range(8):
        mac = hmac.new(key.encode(), f"{purpose}:{step}:{right}".encode(), hashlib.sha256)
        left, right = right, (left + int.from_bytes(mac.digest()[:16], "big")) % 10**5
    return left * 10**5 + right


def test_it_is_the_feistel_network_described() -> None:
    for n in (0, 1, 2, 99_999, 100_000, 9_999_999_999):
        assert conceal(n, 10, "order", secret=KEY) == by_hand(n, KEY, "order")


@given(st.integers(0, 10**18 - 1))
def test_reveal_undoes_conceal(number: int) -> None:
    public = conceal(number, 18, "event", secret=KEY)
    assert 0 <= public < 10**18
    assert reveal(public, 18, "event", secret=KEY) == number


def test_a_small_range_is_a_permutation() -> None:
    # Two digits: all 100 numbers map to 100 distinct ones.
    assert sorted(conceal(n, 2, "t", secret=KEY) for n in range(100)) == list(range(100))


def test_consecutive_numbers_do_not_look_consecutive() -> None:
    public = [conceal(n, 10, "order", secret=KEY) for n in range(1, 201)]
    gaps = [abs(b - a) for a, b in itertools.pairwise(public)]
    assert min(gaps) > 1_000  # neighbours land far apart: nothing to count on
    # Another key or another purpose gives other numbers.
    assert conceal(7, 10, "order", secret="x" * 40) != public[6]
    assert conceal(7, 10, "event", secret=KEY) != public[6]


def test_a_public_reference_is_its_prefix_and_the_concealed_number() -> None:
    ref = PublicRef("cl_", "credit_line", "line_not_found")
    public = ref.of(42)
    assert public.startswith("cl_") and len(public) == 3 + 14 and public[3:].isdigit()
    assert int(public[3:]) == conceal(42, 14, "credit_line")
    assert ref.number_of(public) == 42


def test_what_is_not_a_reference_answers_as_a_missing_record() -> None:
    ref = PublicRef("cl_", "credit_line", "line_not_found")
    good = ref.of(7)
    for wrong in ("7", good[3:], "bl_" + good[3:], good + "0", good[:-1], "cl_" + "１" * 14):
        with pytest.raises(YirongError) as refused:
            ref.number_of(wrong)
        assert refused.value.code == "line_not_found", wrong
