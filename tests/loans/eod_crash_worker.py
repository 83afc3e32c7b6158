"""The process the end-of-day crash test kills: it closes business days up to a
target date and prints a line as each step begins (after the steps before it have
committed), so that the test can kill it anywhere inside the end of day. Each
writing transaction pauses a moment before its COMMIT, everything written and
nothing yet committed (the moment a crash must lose all of it), and says COMMIT
once it has committed."""

from __future__ import annotations

import sys
import time
from datetime import date
from functools import partial

from yirong.books.service import current_business_date
from yirong.eod import service as eod
from yirong.infra.db import Database, Tx
from yirong.wiring import wire

PAUSE_BEFORE_COMMIT = 0.03


def say(day: date, step: str, done: int, steps: int) -> None:
    print(f"STEP {day} {step} {done}/{steps}", flush=True)


def slow_commits() -> None:
    commit = Tx.commit

    def pause_then_commit(tx: Tx) -> None:
        if tx.readonly:
            commit(tx)
            return
        time.sleep(PAUSE_BEFORE_COMMIT)
        commit(tx)
        print("COMMIT", flush=True)

    Tx.commit = pause_then_commit  # type: ignore[method-assign]


def main(url: str, target: str, chunk: int) -> None:
    wire()  # as every entry point does
    db = Database(url)
    eod.OVERDUE_CHUNK = chunk  # the overdue step in several transactions
    slow_commits()
    until = date.fromisoformat(target)
    while (day := current_business_date(db)) < until:
        eod.run_eod(db, progress=partial(say, day))
    print("FINISHED", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
