"""A business day of wallet traffic in the demo: the bank answers yesterday's
withdrawals, agents top up, pre-pay the carrier and withdraw, risk control freezes
and unfreezes wallets, and a client retries a request (which moves money once)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import TypeVar

from yirong.demo.result import DemoResult
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.wallets import service as wallets

T = TypeVar("T")


def one_day(
    db: Database,
    rnd: random.Random,
    handles: list[str],
    today: date,
    pending: list[int],
    frozen: list[str],
    result: DemoResult,
    *,
    share: int = 10,
) -> None:
    """One day's traffic: about one wallet in ``share`` does something."""
    stamp = today.isoformat()

    def attempt(kind: str, call: Callable[[], T]) -> T | None:
        try:
            outcome = call()
        except YirongError as exc:
            result.refusals[exc.code] += 1
            return None
        result.counts[kind] += 1
        return outcome

    # The bank answers yesterday's withdrawals: most are paid, a few refused.
    for withdrawal in pending:
        if rnd.random() < 0.9:
            attempt(
                "withdrawals_paid",
                partial(wallets.confirm_withdrawal, db, withdrawal, f"paid:{withdrawal}"),
            )
        else:
            attempt(
                "withdrawals_refused_by_bank",
                partial(
                    wallets.fail_withdrawal,
                    db,
                    withdrawal,
                    f"failed:{withdrawal}",
                    reason="account name mismatch",
                ),
            )
    pending.clear()
    for n, handle in enumerate(rnd.sample(handles, k=max(1, len(handles) // share))):
        key = f"{stamp}:{n}"
        choice = rnd.random()
        if choice < 0.4:
            attempt(
                "top_ups",
                partial(
                    wallets.top_up,
                    db,
                    handle,
                    rnd.randint(10_000, 500_000),
                    f"top:{key}",
                    bank_ref=f"BANK{key}",
                ),
            )
        elif choice < 0.8:
            attempt(
                "carrier_prepayments",
                partial(
                    wallets.pay_carrier, db, handle, rnd.randint(50_000, 1_500_000), f"pre:{key}"
                ),
            )
        else:
            held = attempt(
                "withdrawals_requested",
                partial(
                    wallets.request_withdrawal,
                    db,
                    handle,
                    rnd.randint(10_000, 600_000),
                    f"wd:{key}",
                ),
            )
            if held is not None and rnd.random() < 0.95:  # a few are never answered: they expire
                pending.append(held.entry_id)
    # Risk control freezes a wallet now and then, and lifts older freezes.
    if rnd.random() < 0.5:
        handle = rnd.choice(handles)
        wallets.freeze(db, handle, "risk", note="unusual pattern", actor="risk-desk")
        if handle not in frozen:  # a list, not a set: the same seed lifts the same freezes
            frozen.append(handle)
        result.counts["freezes"] += 1
        attempt("frozen_debits", partial(wallets.pay_carrier, db, handle, 100, f"try:{stamp}"))
    if frozen and rnd.random() < 0.4:
        handle = frozen.pop(0)
        wallets.unfreeze(db, handle, "risk", note="cleared", actor="risk-desk")
        result.counts["unfreezes"] += 1
    # A client retries a request: the same key moves money once.
    retried = wallets.top_up(db, handles[0], 100, f"top:{stamp}:retry")
    again = wallets.top_up(db, handles[0], 100, f"top:{stamp}:retry")
    if (retried.status, again.status) == ("created", "exists"):
        result.counts["retries_answered_exists"] += 1
