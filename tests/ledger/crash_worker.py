"""The process the crash test kills: it moves money as fast as it can and prints a
line for every operation the database acknowledged (after the commit returned)."""

from __future__ import annotations

import random
import sys

from yirong.infra.db import Database
from yirong.wallets import service as wallets
from yirong.wallets.commissions import apply_commission_file, import_commissions

WALLETS = [f"K{n}" for n in range(5)]


def main(url: str, run: str, seed: int) -> None:
    db = Database(url)
    rnd = random.Random(seed)
    for n in range(100_000):
        kind = rnd.random()
        if kind < 0.1:
            # A many-entry operation: one commission file, one row per wallet.
            month = f"{2000 + n // 12 + seed * 10:04d}-{n % 12 + 1:02d}"
            rows = "".join(f"{w},{month},{rnd.randint(1, 999)}\n" for w in WALLETS)
            # Recorded, then credited as when the carrier's payment is matched: a kill
            # between the two leaves it recorded and not credited, never half credited.
            recorded = import_commissions(
                db, f"agent,month,amount\n{rows}".encode(), f"{run}-{n}.csv"
            )
            apply_commission_file(db, recorded.file_id)
            print(f"ACK file {month}", flush=True)
            continue
        key = f"{run}-{n}"
        if kind < 0.5:
            wallets.credit_from_bank(db, rnd.choice(WALLETS), rnd.randint(1, 5_000), key)
        else:
            source, target = rnd.sample(WALLETS, 2)
            try:
                wallets.transfer(db, source, target, rnd.randint(1, 3_000), key)
            except Exception:
                print(f"REFUSED {key}", flush=True)
                continue
        print(f"ACK entry {key}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
