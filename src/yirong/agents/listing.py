"""Listing and finding agents (for operators), a page at a time."""

from __future__ import annotations

from sqlalchemy import or_, select

from yirong.agents import identifiers
from yirong.agents.service import AgentView, Viewer, view
from yirong.agents.tables import Agent
from yirong.errors import YirongError
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


@read_only
def find_agents(
    tx: Tx, viewer: Viewer, query: str, *, after: int = 0, limit: int = 50
) -> list[tuple[int, AgentView]]:
    """Agents a search names: its code (exactly), its unified social credit code
    (exactly, on its unique index) or a part of its name; oldest first, after id
    ``after``, shown as ``viewer`` may see them."""
    text = query.strip()
    try:
        uscc = identifiers.unified_social_credit_code(text)
    except YirongError:
        uscc = None
    names = Agent.name.contains(text, autoescape=True)
    match = or_(Agent.code == text, names) if uscc is None else Agent.uscc == uscc
    found = tx.session.scalars(
        select(Agent).where(match, Agent.id > after).order_by(Agent.id).limit(limit)
    )
    return [(agent.id, view(agent, viewer)) for agent in found]
