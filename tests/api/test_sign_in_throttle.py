"""Sign-in throttling (issue 13, point 4), on both databases: attempts are counted
before the password is checked, so concurrent guesses get no more checks than allowed;
past them an account waits growing delays (never a lock), a right password within a
delay waits too and works after it; a stranger cannot keep the real user out; the
client address is the socket's peer unless the peer is a trusted proxy.

The clock is given to the service (``at=``); every address is on loopback."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from yirong.access import secrets, service
from yirong.access.tables import LoginCounter
from yirong.api.app import create_app
from yirong.api.client_address import client_address, trusted_networks
from yirong.errors import YirongError
from yirong.infra.db import Database

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
NAME, RIGHT = "ops-one", "the-right-password"
HERE, STRANGER = "127.0.0.10", "127.0.0.66"


@pytest.fixture
def person(db: Database) -> Database:
    service.create_user(db, NAME, RIGHT, "operator", "ops")
    return db


def attempt(db: Database, password: str, at: datetime, client: str = HERE) -> str:
    """ "ok", or the refusal's code (with the seconds to wait when throttled)."""
    try:
        service.sign_in(db, NAME, password, client, at=at)
    except YirongError as refused:
        wait = refused.details.get("retry_after")
        return refused.code if wait is None else f"{refused.code} {wait}"
    return "ok"


def test_twelve_concurrent_wrong_guesses_get_five_checks(
    person: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real = secrets.password_matches

    def counting(stored: str | None, password: str) -> bool:
        checked.append(password)
        return real(stored, password)

    monkeypatch.setattr(secrets, "password_matches", counting)
    start = threading.Barrier(12)

    def guess(n: int) -> str:
        start.wait()
        return attempt(person, f"wrong-guess-{n}", T0)

    with ThreadPoolExecutor(12) as pool:
        answers = sorted(pool.map(guess, range(12)))
    assert answers == ["login_failed"] * 5 + ["login_throttled 1"] * 7
    assert len(checked) == 5
    counted = person.run(
        lambda tx: tx.session.get(LoginCounter, f"user:{NAME}").attempts  # type: ignore[union-attr]
    )
    assert counted == 5  # the seven refused for the delay counted nothing


def test_delays_grow_a_right_password_waits_then_signs_in_and_clears_them(
    person: Database,
) -> None:
    assert [attempt(person, "wrong", T0) for _ in range(5)] == ["login_failed"] * 5
    # Written by hand: after the 5th failure 1 s, then 2, 4, 8 s; each waited out.
    at = T0
    for wait in (1, 2, 4, 8):
        assert attempt(person, "wrong", at) == f"login_throttled {wait}"
        at += timedelta(seconds=wait)
        assert attempt(person, "wrong", at) == "login_failed"
    # Now 16 s: the right password within it is refused as well, and says how long.
    assert attempt(person, RIGHT, at + timedelta(seconds=15)) == "login_throttled 1"
    assert attempt(person, RIGHT, at + timedelta(seconds=16)) == "ok"
    # A success starts the account afresh: five free attempts again.
    later = at + timedelta(seconds=17)
    assert [attempt(person, "wrong", later) for _ in range(5)] == ["login_failed"] * 5
    assert attempt(person, "wrong", later) == "login_throttled 1"


def test_a_stranger_guessing_cannot_lock_the_real_user_out(person: Database) -> None:
    """The stranger guesses from another address as fast as it is let, and hammers in
    between: its refused tries never lengthen the delay, which never passes five
    minutes; the real user gets in once the current delay has run."""
    assert [attempt(person, "guess", T0, STRANGER) for _ in range(5)] == ["login_failed"] * 5
    at = T0
    waits = []
    for _ in range(11):
        answer = attempt(person, "guess", at, STRANGER)
        wait = int(answer.removeprefix("login_throttled "))
        half = at + timedelta(seconds=wait / 2)
        for _ in range(3):  # hammering: refused, and the wait is not made longer
            assert attempt(person, "guess", half, STRANGER) == f"login_throttled {-(-wait // 2)}"
        waits.append(wait)
        at += timedelta(seconds=wait)
        assert attempt(person, "guess", at, STRANGER) == "login_failed"
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]  # written by hand
    # From its own address the user is held back five minutes from the stranger's
    # last guess at most, and then signs in.
    assert attempt(person, RIGHT, at + timedelta(seconds=299)) == "login_throttled 1"
    assert attempt(person, RIGHT, at + timedelta(seconds=300)) == "ok"


def test_one_address_guessing_at_many_accounts_is_slowed_others_are_not(db: Database) -> None:
    answers = [
        attempt_as(db, f"someone-{n}", STRANGER) for n in range(21)
    ]  # 21 accounts, none real: a miss each
    assert answers == ["login_failed"] * 20 + ["login_throttled 1"]
    assert attempt_as(db, "someone-else", HERE) == "login_failed"  # another address


def attempt_as(db: Database, username: str, client: str) -> str:
    try:
        service.sign_in(db, username, "a-wrong-password", client, at=T0)
    except YirongError as refused:
        wait = refused.details.get("retry_after")
        return refused.code if wait is None else f"{refused.code} {wait}"
    return "ok"


def test_people_behind_one_address_signing_in_are_not_slowed(db: Database) -> None:
    for n in range(25):
        service.create_user(db, f"office-{n}", RIGHT, "operator", f"o{n}")
    for n in range(25):  # more than the address's free attempts, all good
        service.sign_in(db, f"office-{n}", RIGHT, HERE, at=T0)
    left = db.run(
        lambda tx: tx.session.scalar(
            select(LoginCounter.attempts).where(LoginCounter.key == f"client:{HERE}")
        )
    )
    assert left == 0


# ---------------------------------------------------------------- the client's address

TRUSTED = "127.0.0.1, 127.0.0.2/32"


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # Written by hand. An untrusted peer: the header is ignored.
        ("127.0.0.9", ["127.0.0.50"], "127.0.0.9"),
        # A trusted peer: the right-most address no trusted proxy vouches for.
        ("127.0.0.1", ["127.0.0.60"], "127.0.0.60"),
        ("127.0.0.1", ["127.0.0.50, 127.0.0.60, 127.0.0.2"], "127.0.0.60"),
        ("127.0.0.1", ["127.0.0.50", "127.0.0.60"], "127.0.0.60"),  # two headers, in order
        # What the client wrote itself (left of it) is never read, even a trusted one.
        ("127.0.0.1", ["127.0.0.1, 127.0.0.70"], "127.0.0.70"),
        # Nothing forwarded, or only trusted proxies: the last one known.
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["127.0.0.2"], "127.0.0.2"),
        # Not an address: believed no further than the proxy that passed it on.
        ("127.0.0.1", ["127.0.0.50, bogus"], "127.0.0.1"),
        ("127.0.0.1", ["bogus, 127.0.0.2"], "127.0.0.2"),
    ],
)
def test_the_client_address_from_trusted_proxies_only(
    peer: str, forwarded: list[str], client: str
) -> None:
    assert client_address(peer, forwarded, trusted_networks(TRUSTED)) == client


def test_no_trusted_proxies_by_default_and_a_wrong_entry_stops_the_app(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client_address("127.0.0.1", ["127.0.0.60"], trusted_networks("")) == "127.0.0.1"
    monkeypatch.setenv("YIRONG_TRUSTED_PROXIES", "127.0.0.1, not-a-range")
    with pytest.raises(ValueError, match="not-a-range"):
        create_app(db)


@pytest.mark.parametrize(
    ("peer", "seen"), [("127.0.0.9", "127.0.0.9"), ("127.0.0.1", "127.0.0.60")]
)
def test_sign_in_counts_the_client_the_setting_believes(
    db: Database, monkeypatch: pytest.MonkeyPatch, peer: str, seen: str
) -> None:
    monkeypatch.setenv("YIRONG_TRUSTED_PROXIES", TRUSTED)
    client = TestClient(create_app(db), client=(peer, 50_000))
    for _ in range(2):
        answer = client.post(
            "/api/v1/auth/token",
            json={"username": "nobody", "password": "a-wrong-password"},
            headers={"X-Forwarded-For": "127.0.0.50, 127.0.0.60"},
        )
        assert answer.status_code == 401
    counted = db.run(
        lambda tx: dict(
            tx.session.execute(
                select(LoginCounter.key, LoginCounter.attempts).where(
                    LoginCounter.key.like("client:%")
                )
            ).all()
        )
    )
    assert counted == {f"client:{seen}": 2}
