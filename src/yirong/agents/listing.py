"""Listing agents (for operators), a page at a time."""

from __future__ import annotations

from sqlalchemy import select

from yirong.agents.service import AgentView, Viewer, view
from yirong.agents.tables import Agent
from yirong.infra.db import Tx, read_only


@read_only
def list_agents(
    tx: Tx, viewer: Viewer, *, after: int = 0, limit: int = 50
) -> list[tuple[int, AgentView]]:
    """Agents onboarded after the one with id ``after``, oldest first, each with its
    id (the page cursor), shown as ``viewer`` may see them."""
    found = tx.session.scalars(
        select(Agent).where(Agent.id > after).order_by(Agent.id).limit(limit)
    )
    return [(agent.id, view(agent, viewer)) for agent in found]
