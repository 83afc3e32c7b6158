"""The loan as a model, pure: a drawdown's life (``lifecycle``) and a term loan's
instalments as its contract enforces them (``term``). A revolving line's drawdown
runs on its interest clock (``loans.interest``)."""

from yirong.loans.model.lifecycle import (
    CLOSED,
    IN_ESCROW,
    LENT,
    OPEN,
    ORDER,
    OUTSTANDING,
    TRANSITIONS,
    DrawdownStatus,
    Event,
    after,
    reopened,
    sources,
    target,
)

__all__ = [
    "CLOSED",
    "IN_ESCROW",
    "LENT",
    "OPEN",
    "ORDER",
    "OUTSTANDING",
    "TRANSITIONS",
    "DrawdownStatus",
    "Event",
    "after",
    "reopened",
    "sources",
    "target",
]
