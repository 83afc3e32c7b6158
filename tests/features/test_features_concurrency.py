"""Features computed by two requests at once (each credit decision computes the
month's features first), under PostgreSQL's real row locks."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from tests.features.history import features_by_agent, onboard
from yirong.features.service import compute_features, compute_in
from yirong.infra.db import Database, Tx


def test_two_computations_of_a_new_month_at_once_both_succeed(pg: Database) -> None:
    onboard(pg, {"A1": date(2024, 5, 1), "A2": None})
    first_computed = threading.Event()

    def first(tx: Tx) -> date:
        as_of = compute_in(tx)
        first_computed.set()
        time.sleep(0.3)  # still uncommitted while the second computation runs
        return as_of

    with ThreadPoolExecutor(max_workers=2) as pool:
        one = pool.submit(pg.run, first)
        assert first_computed.wait(10)
        other = pool.submit(compute_features, pg)
        assert one.result(timeout=30) == other.result(timeout=30) == date(2026, 1, 1)
    got = features_by_agent(pg, date(2026, 1, 1))
    assert (got["A1"].tenure_months, got["A2"].tenure_months) == (20, 0)
