"""The process the import crash test kills: it imports a statement file in small
chunks and prints a line as each chunk commits, each commit paused a moment first
(everything written, nothing committed: the moment a crash must lose all of it)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from yirong.infra.db import Database, Tx
from yirong.reconciliation.statements import import_statement_file
from yirong.wiring import wire

PAUSE_BEFORE_COMMIT = 0.02


def main(url: str, path: str, chunk: int) -> None:
    wire()  # as every entry point does
    db = Database(url)
    commit = Tx.commit

    def pause_then_commit(tx: Tx) -> None:
        if not tx.readonly:
            time.sleep(PAUSE_BEFORE_COMMIT)
        commit(tx)

    Tx.commit = pause_then_commit  # type: ignore[method-assign]
    import_statement_file(
        db,
        Path(path).read_bytes(),
        filename="crash.csv",
        chunk=chunk,
        progress=lambda done, total: print(f"CHUNK {done}/{total}", flush=True),
    )
    print("FINISHED", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
