"""Routes: onboarding firms (operators), the list of agents (operators), and one
agent as the caller may see it: the agent itself and operators in full, a funder
only while the agent's consent to it stands (every such look logged)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from yirong.agents.listing import list_agents
from yirong.agents.service import AgentInput, AgentView, Viewer, get_agent, onboard_agent
from yirong.api.pages import Cursor, Limit, Page, after_of, page_of
from yirong.api.routing import api_router
from yirong.api.security import DB, Anyone, Operator, own_agent
from yirong.credit.disclosure import agent_for_funder
from yirong.roles import Role

router = api_router("agents")

Text = Annotated[str, Field(min_length=1, max_length=200)]
Identifier = Annotated[str, Field(min_length=1, max_length=40)]
# Lists show personal data masked; one agent's record shows it in full to operators.
MASKED = Viewer(Role.FUNDER)


class NewAgent(BaseModel):
    """A firm to onboard; the service validates every identifier (GB 32100 credit
    code, GB 11643 resident ID, Luhn bank card, mainland mobile)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, description="The carrier's agent number")
    name: Text
    uscc: Identifier = Field(description="Unified social credit code (统一社会信用代码)")
    legal_rep_name: Text
    legal_rep_id: Identifier = Field(description="The legal representative's resident ID")
    mobile: Identifier
    bank_card: Identifier = Field(description="The settlement bank card")
    bank_name: Text
    wallet_class: int = Field(2, strict=True, description="Payment account class: 1, 2 or 3")
    carrier_since: date | None = Field(None, description="When the agent began with the carrier")


@router.post(
    "/agents",
    response_model=AgentView,
    status_code=201,
    summary="Onboard a firm and open its wallet",
)
def onboard(data: NewAgent, _who: Operator, db: DB) -> AgentView:
    return onboard_agent(db, AgentInput(**data.model_dump()))


@router.get(
    "/agents",
    response_model=Page[AgentView],
    summary="Agents, oldest first (personal data masked: open one to see it in full)",
)
def agents(_who: Operator, db: DB, limit: Limit = 50, cursor: Cursor = None) -> Page[AgentView]:
    found = list_agents(db, MASKED, after=after_of(cursor), limit=limit + 1)
    page = page_of(found, limit, lambda pair: pair[0])
    return Page[AgentView](items=[v for _, v in page.items], next_cursor=page.next_cursor)


@router.get(
    "/agents/{code}",
    response_model=AgentView,
    summary="One agent: in full to itself and operators; to a funder under its consent",
)
def agent(code: str, who: Anyone, db: DB) -> AgentView:
    if who.role is Role.FUNDER:
        return agent_for_funder(db, code, funder_code=who.subject)
    own_agent(who, code)
    return get_agent(db, code, who.viewer)
