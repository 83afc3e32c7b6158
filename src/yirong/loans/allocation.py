"""How a repayment is split over what an agent owes: pure.

The product's order (default: penalty, then interest, then principal) is applied
component by component, each over the drawdowns oldest first; so a repayment clears
every drawdown's penalty before any interest, and all interest before any principal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

COMPONENTS = ("penalty", "interest", "principal")
DEFAULT_ORDER = COMPONENTS


@dataclass(frozen=True, slots=True)
class Owed:
    """What one drawdown owes, in fen."""

    drawdown_id: int
    penalty: int
    interest: int
    principal: int

    @property
    def total(self) -> int:
        return self.penalty + self.interest + self.principal


@dataclass(frozen=True, slots=True)
class Share:
    """The part of a repayment that goes to one drawdown."""

    drawdown_id: int
    penalty: int = 0
    interest: int = 0
    principal: int = 0

    @property
    def total(self) -> int:
        return self.penalty + self.interest + self.principal


def parse_order(text: str) -> tuple[str, ...]:
    order = tuple(part.strip() for part in text.split(",") if part.strip())
    if sorted(order) != sorted(COMPONENTS):
        raise ValueError(f"an allocation order names each of {', '.join(COMPONENTS)} once")
    return order


def allocate(
    amount: int, owed: Sequence[Owed], order: Sequence[str] = DEFAULT_ORDER
) -> list[Share]:
    """Split ``amount`` (at most the total owed) over ``owed`` (oldest first)."""
    total = sum(o.total for o in owed)
    if amount < 0 or amount > total:
        raise ValueError(f"cannot allocate {amount} over {total} owed")
    parts: dict[int, dict[str, int]] = {o.drawdown_id: dict.fromkeys(COMPONENTS, 0) for o in owed}
    left = amount
    for component in order:
        for o in owed:
            if left == 0:
                break
            take = min(left, getattr(o, component))
            parts[o.drawdown_id][component] += take
            left -= take
    return [
        Share(o.drawdown_id, **parts[o.drawdown_id])
        for o in owed
        if any(parts[o.drawdown_id].values())
    ]
