"""Closing the day from the console: the end of day runs in a thread of its own (one
``DayClose`` per app, kept in its state), so the page answers at once and shows the
steps as they are done (their records are the progress, read by
``eod.service.eod_status``). One run at a time; the date asked for is the one the
operator saw, so a second click never closes the next day. After a crash the steps
done stay done: running again resumes."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

from yirong.eod.service import run_eod
from yirong.errors import YirongError
from yirong.infra.db import Database


@dataclass
class State:
    running: date | None = None  # the day being closed
    closed: date | None = None  # the last day this process closed
    failed: str | None = None  # the code the last run stopped with


class DayClose:
    """This process's runs of the end of day: one at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = State()
        self._thread: threading.Thread | None = None

    def state(self) -> State:
        with self._lock:
            return State(self._state.running, self._state.closed, self._state.failed)

    def start(self, db: Database, day: date) -> bool:
        """Start closing ``day``; False when a run is already going."""
        with self._lock:
            if self._state.running is not None:
                return False
            self._state.running, self._state.failed = day, None
            self._thread = threading.Thread(target=self._run, args=(db, day), daemon=True)
            self._thread.start()
            return True

    def _run(self, db: Database, day: date) -> None:
        failed: str | None = None
        try:
            run_eod(db, day)
        except YirongError as exc:
            failed = exc.code
        except Exception:  # logged by the thread's hook; the page says it stopped
            failed = "internal_error"
            raise
        finally:
            with self._lock:
                self._state.running, self._state.failed = None, failed
                if failed is None:
                    self._state.closed = day

    def wait(self, timeout: float = 120) -> None:
        """Until the run started last has ended (for tests and a server's shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
