"""A business day of wallet traffic in the demo: agents top up through the bank (the
wallet is credited when the evening's statement shows the money), pre-pay the carrier
and ask to withdraw (a payment the bank executes the next day, or refuses), risk
control freezes and unfreezes wallets, and a client retries a request (which moves
money once)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import TypeVar

from yirong.demo.customers import Customers
from yirong.demo.result import DemoResult
from yirong.errors import YirongError
from yirong.wallets import service as wallets

T = TypeVar("T")


def one_day(
    customers: Customers,
    rnd: random.Random,
    handles: list[str],
    today: date,
    frozen: list[str],
    result: DemoResult,
    *,
    share: int = 10,
) -> None:
    """One day's traffic: about one wallet in ``share`` does something."""
    db, stamp = customers.db, today.isoformat()

    def attempt(kind: str, call: Callable[[], T]) -> T | None:
        try:
            outcome = call()
        except YirongError as exc:
            result.refusals[exc.code] += 1
            return None
        result.counts[kind] += 1
        return outcome

    prepaid: tuple[str, int, str] | None = None
    for n, handle in enumerate(rnd.sample(handles, k=max(1, len(handles) // share))):
        key = f"{stamp}:{n}"
        choice = rnd.random()
        if choice < 0.4:
            how = customers.ordinary_top_up(rnd, today, handle, rnd.randint(10_000, 500_000))
            result.counts[f"top_ups_sent_{how}"] += 1
        elif choice < 0.8:
            amount = rnd.randint(50_000, 1_500_000)
            pay = partial(wallets.pay_carrier, customers.db, handle, amount, f"pre:{key}")
            if attempt("carrier_prepayments", pay) is not None:
                prepaid = (handle, amount, f"pre:{key}")
        else:
            attempt(
                "withdrawals_requested",
                partial(
                    wallets.request_withdrawal,
                    db,
                    handle,
                    rnd.randint(10_000, 600_000),
                    f"wd:{key}",
                    payee=customers.payee(handle),
                ),
            )
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
    # A client retries its last pre-payment (the answer was lost): the same key moves
    # money once.
    if prepaid is not None:
        again = wallets.pay_carrier(db, *prepaid)
        if again.status == "exists":
            result.counts["retries_answered_exists"] += 1
