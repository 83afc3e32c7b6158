"""How a funder decides on pre-approval, pluggable: a built-in scorecard, the funder's
own system over HTTP, or its staff by hand. Each sees pseudonymous features only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from yirong.features.service import Features
from yirong.funders import scorecard
from yirong.funders.tables import Funder, FunderProduct


@dataclass(frozen=True, slots=True)
class Pseudonymous:
    """An agent as a funder sees it before consent: a token and its features."""

    token: str
    features: Features


@dataclass(frozen=True, slots=True)
class Proposal:
    """An offer a funder proposes; the platform checks it before it reaches anyone."""

    token: str
    product: str
    limit: int
    annual_rate: Decimal
    term_days: int


class Decider(Protocol):
    def propose(
        self, funder: Funder, products: Sequence[FunderProduct], agents: Sequence[Pseudonymous]
    ) -> list[Proposal]: ...


class ScorecardDecider:
    """The funder's scorecard, from its configuration."""

    def propose(
        self, funder: Funder, products: Sequence[FunderProduct], agents: Sequence[Pseudonymous]
    ) -> list[Proposal]:
        card = scorecard.parse(funder.scorecard or "")
        proposals = []
        for agent in agents:
            decision = card.decide(agent.features)
            if decision is not None:
                proposals.append(
                    Proposal(
                        agent.token,
                        card.product,
                        decision.limit,
                        decision.annual_rate,
                        decision.term_days,
                    )
                )
        return proposals


class ManualDecider:
    """Staff decide in the funder's console; pre-approval proposes nothing for them."""

    def propose(
        self, funder: Funder, products: Sequence[FunderProduct], agents: Sequence[Pseudonymous]
    ) -> list[Proposal]:
        return []
