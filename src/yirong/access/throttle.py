"""Sign-in throttling: growing delays, counted before the password is checked.

Every attempt is counted, in its own transaction and under the counter's row lock,
before Argon2 runs: twelve concurrent guesses are twelve counts, so no more than the
free attempts are ever checked at once. Past the free attempts an account does not
lock; its next attempt is allowed only after a delay that doubles with each attempt
(1 s, 2 s, 4 s ... never more than ``MAX_DELAY``). An attempt refused for the delay is
not counted and does not lengthen it, so a stranger guessing at an account can hold it
back at most ``MAX_DELAY`` at a time, never lock it. A success clears the account's
count. A client address has a counter of its own, looser (many people may share one
address behind a NAT), which slows one machine guessing at many accounts; a success
takes its attempt back from it.

Times are the wall clock: this is security, not money."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from yirong.access.tables import LoginCounter
from yirong.errors import YirongError
from yirong.infra.db import Retryable, Tx

FREE_PER_ACCOUNT = 5
FREE_PER_CLIENT = 20
FIRST_DELAY = timedelta(seconds=1)
MAX_DELAY = timedelta(minutes=5)
# An account (or address) with no attempt for this long starts counting again.
QUIET = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Counter:
    key: str
    free: int


def counters(username: str, client: str) -> tuple[Counter, Counter]:
    """The account's counter, then the client address's: always taken in this order,
    so two sign-ins never wait on each other's locks in a circle."""
    return Counter(f"user:{username[:64]}", FREE_PER_ACCOUNT), Counter(
        f"client:{client[:64]}", FREE_PER_CLIENT
    )


def delay_after(attempts: int, free: int) -> timedelta | None:
    """The wait before the next attempt, once ``attempts`` were counted: none within
    the free attempts, then 1 s doubling each time up to ``MAX_DELAY``."""
    if attempts < free:
        return None
    return min(FIRST_DELAY * (1 << min(attempts - free, 30)), MAX_DELAY)


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _locked(tx: Tx, key: str, moment: datetime) -> LoginCounter:
    row = tx.session.get(LoginCounter, key, with_for_update=True)
    if row is None:
        row = LoginCounter(key=key, attempts=0, last_attempt_at=moment, next_allowed_at=None)
        tx.session.add(row)
        try:
            tx.session.flush()
        except IntegrityError as exc:  # a concurrent first attempt made it: lock that one
            raise Retryable from exc
    elif moment - _aware(row.last_attempt_at) >= QUIET:
        row.attempts, row.next_allowed_at = 0, None
    return row


def count_attempt(tx: Tx, keys: tuple[Counter, ...], moment: datetime) -> None:
    """Count one attempt on each counter, or refuse it (``login_throttled``, with the
    seconds to wait) while any counter's delay runs; a refused attempt counts nothing."""
    rows = [(_locked(tx, c.key, moment), c.free) for c in keys]
    waits = [
        _aware(row.next_allowed_at) - moment
        for row, _ in rows
        if row.next_allowed_at is not None and _aware(row.next_allowed_at) > moment
    ]
    if waits:
        raise YirongError(
            "login_throttled", retry_after=max(1, math.ceil(max(waits).total_seconds()))
        )
    for row, free in rows:
        row.attempts += 1
        row.last_attempt_at = moment
        delay = delay_after(row.attempts, free)
        row.next_allowed_at = moment + delay if delay is not None else None


def succeeded(tx: Tx, account: Counter, address: Counter) -> None:
    """A right password: the account starts afresh, and the address's count takes
    back this attempt (it was counted before it was known good), so that an office
    behind one address is never slowed by its people signing in."""
    tx.session.execute(delete(LoginCounter).where(LoginCounter.key == account.key))
    tx.session.execute(
        update(LoginCounter)
        .where(LoginCounter.key == address.key, LoginCounter.attempts > 0)
        .values(attempts=LoginCounter.attempts - 1)
    )


def prune(tx: Tx, now: datetime) -> int:
    """Counters quiet for longer than ``QUIET`` count for nothing: deleted (they hold
    usernames as typed and client addresses). Returns how many."""
    gone = tx.conn.execute(delete(LoginCounter).where(LoginCounter.last_attempt_at < now - QUIET))
    return int(gone.rowcount or 0)
