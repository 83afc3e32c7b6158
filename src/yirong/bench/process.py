"""Running one measured piece of a benchmark in a process of its own, so that the
peak memory it reports is that piece's, not the builder's or an earlier run's."""

from __future__ import annotations

import multiprocessing as mp
import queue
import resource
from collections.abc import Callable
from typing import Any, TypeVar

from rich.table import Table

from yirong.infra.db import Database

R = TypeVar("R")


def in_fresh_process(db: Database, work: Callable[[str], R]) -> R:
    """``work(url)`` in a forked child reaching the same database (and schema); its
    result back. The parent's pool is closed first: a child must not share its
    connections."""
    ctx = mp.get_context("fork")
    url = db.url.render_as_string(hide_password=False)
    db.dispose()
    out = ctx.Queue()
    child = ctx.Process(target=_child, args=(work, url, out))
    child.start()
    try:
        while True:
            alive = child.is_alive()  # asked before waiting: a result sent last still comes
            try:
                result: R = out.get(timeout=1)
                return result
            except queue.Empty:
                if not alive:
                    raise RuntimeError(
                        f"the measured process died (exit {child.exitcode})"
                    ) from None
    finally:
        child.join()


def _child(work: Callable[[str], Any], url: str, out: Any) -> None:
    out.put(work(url))


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def figures_table(title: str, columns: tuple[str, ...]) -> Table:
    """A table of figures: the first column names the database, the rest are numbers."""
    table = Table(title=title)
    for n, column in enumerate(columns):
        table.add_column(column, justify="left" if n == 0 else "right")
    return table
