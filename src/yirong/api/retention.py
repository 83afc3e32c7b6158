"""Retention of what the API keeps only for a while: sign-in counters (once quiet past
the throttling window), signed requests' nonces (once their timestamps are out of the
window) and answered idempotent requests (after ``KEEP_ANSWERS``). The
server prunes once at start and then every hour; ``yirong prune`` does it by hand.
The clock read here decides no money: only how long a record is kept."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from yirong.access.service import prune_login_counters, prune_nonces
from yirong.api.idempotency import prune_answers
from yirong.infra.db import Database

PRUNE_EVERY_SECONDS = 3600
log = logging.getLogger("yirong.api")


def prune(db: Database, now: datetime | None = None) -> dict[str, int]:
    moment = now or datetime.now(UTC)
    return {
        "login_counters": prune_login_counters(db, moment),
        "request_nonces": prune_nonces(db, moment),
        "answered_requests": prune_answers(db, moment),
    }


def run_pruner(db: Database, stop: threading.Event) -> None:
    """Prune now and every hour until ``stop`` is set; a failure is logged and tried
    again at the next hour (it must never stop the server)."""
    while True:
        try:
            gone = prune(db)
            log.info("pruned", extra={"path": "retention", **gone})
        except Exception:
            log.exception("pruning failed; tried again in an hour")
        if stop.wait(PRUNE_EVERY_SECONDS):
            return
