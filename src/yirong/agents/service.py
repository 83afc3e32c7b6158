"""Onboarding agents (代理商) and showing them to whoever may see them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from yirong.agents import identifiers, masking
from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.errors import YirongError
from yirong.infra.db import Tx, read_only, transactional
from yirong.roles import Role
from yirong.wallets.service import open_wallet_in, parse_handle


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: personal data is shown in full only to the agent itself and
    to operators (whose every look is audited by the API layer)."""

    role: Role
    subject: str = ""  # the agent's or the funder's code

    def sees_in_full(self, agent_code: str) -> bool:
        return self.role is Role.OPERATOR or (
            self.role is Role.AGENT and self.subject == agent_code
        )


OPERATOR = Viewer(Role.OPERATOR, "system")


@dataclass(frozen=True, slots=True)
class AgentInput:
    code: str
    name: str
    uscc: str
    legal_rep_name: str
    legal_rep_id: str
    mobile: str
    bank_card: str
    bank_name: str
    wallet_class: int = 2
    carrier_since: date | None = None

    def __repr__(self) -> str:  # never print personal data, even in a traceback
        return f"AgentInput(code={self.code!r}, name={masking.name(self.name)!r}, ...)"


@dataclass(frozen=True, slots=True)
class AgentView:
    code: str
    name: str
    uscc: str
    legal_rep_name: str
    legal_rep_id: str
    mobile: str
    bank_card: str
    bank_name: str
    wallet_class: int
    carrier_since: date
    onboarded_on: date
    masked: bool

    def __repr__(self) -> str:
        return f"AgentView(code={self.code!r}, name={masking.name(self.name)!r}, masked=...)"


@transactional
def onboard_agent(tx: Tx, data: AgentInput, viewer: Viewer = OPERATOR) -> AgentView:
    """Onboard a firm and open its wallet. Every identifier is checked; a unified
    social credit code already onboarded is refused."""
    return view(onboard_in(tx, data), viewer)


@transactional
def onboard_agents(tx: Tx, batch: Sequence[AgentInput]) -> int:
    """Onboard many firms in one transaction (all or none)."""
    for data in batch:
        onboard_in(tx, data)
    return len(batch)


def onboard_in(tx: Tx, data: AgentInput) -> Agent:
    today = business_date_of(tx)
    clean = checked(data, today)
    session = tx.session
    if session.scalar(select(Agent.id).where(Agent.code == clean.code)) is not None:
        raise YirongError("agent_code_taken", agent=clean.code)
    if session.scalar(select(Agent.id).where(Agent.uscc == clean.uscc)) is not None:
        raise YirongError("agent_uscc_taken", uscc=masking.uscc(clean.uscc))
    agent = Agent(
        code=clean.code,
        name=clean.name,
        uscc=clean.uscc,
        legal_rep_name=clean.legal_rep_name,
        legal_rep_id=clean.legal_rep_id,
        mobile=clean.mobile,
        bank_card=clean.bank_card,
        bank_name=clean.bank_name,
        wallet_class=clean.wallet_class,
        carrier_since=clean.carrier_since or today,
        onboarded_on=today,
    )
    session.add(agent)
    try:
        session.flush()
    except IntegrityError as exc:  # the same firm (or code) onboarded by a concurrent request
        # PostgreSQL names the constraint, SQLite the column.
        if any(name in str(exc.orig) for name in ("uq_agents_code", "agents.code")):
            raise YirongError("agent_code_taken", agent=clean.code) from exc
        raise YirongError("agent_uscc_taken", uscc=masking.uscc(clean.uscc)) from exc
    open_wallet_in(tx, f"agent:{clean.code}", clean.name, today)
    return agent


def checked(data: AgentInput, today: date) -> AgentInput:
    """The input with every identifier validated and normalised."""
    parse_handle(data.code)
    for name in (data.name, data.legal_rep_name, data.bank_name):
        if not 0 < len(name.strip()) <= 100:
            raise YirongError("name_invalid")
    if data.wallet_class not in (1, 2, 3):
        raise YirongError("wallet_class_invalid", wallet_class=data.wallet_class)
    if data.carrier_since is not None and data.carrier_since > today:
        raise YirongError("date_in_future", field="carrier_since")
    return replace(
        data,
        name=data.name.strip(),
        legal_rep_name=data.legal_rep_name.strip(),
        bank_name=data.bank_name.strip(),
        uscc=identifiers.unified_social_credit_code(data.uscc),
        legal_rep_id=identifiers.resident_id(data.legal_rep_id, on=today),
        mobile=identifiers.mainland_mobile(data.mobile),
        bank_card=identifiers.bank_card(data.bank_card),
    )


def agent_id_of(tx: Tx, code: str) -> int:
    """The agent's id (never changes and agents are never deleted, so it is kept for
    the process's life): what a money request needs of the agent, without loading its
    personal data."""
    known: dict[str, int] = tx.db.cache("agents.ids", dict)
    found = known.get(code)
    if found is None:
        found = tx.conn.scalar(_ID_OF, {"code": code})
        if found is None:
            raise YirongError("agent_not_found", agent=code)
        known[code] = found
    return found


_ID_OF = select(Agent.id).where(Agent.code == bindparam("code"))


def agent_row(tx: Tx, code: str) -> Agent:
    found = tx.session.scalars(select(Agent).where(Agent.code == code)).one_or_none()
    if found is None:
        raise YirongError("agent_not_found", agent=code)
    return found


@read_only
def get_agent(tx: Tx, code: str, viewer: Viewer) -> AgentView:
    return view(agent_row(tx, code), viewer)


def view(agent: Agent, viewer: Viewer) -> AgentView:
    full = viewer.sees_in_full(agent.code)
    return AgentView(
        code=agent.code,
        name=agent.name if full else masking.name(agent.name),
        uscc=agent.uscc if full else masking.uscc(agent.uscc),
        legal_rep_name=agent.legal_rep_name if full else masking.name(agent.legal_rep_name),
        legal_rep_id=agent.legal_rep_id if full else masking.resident_id(agent.legal_rep_id),
        mobile=agent.mobile if full else masking.mobile(agent.mobile),
        bank_card=agent.bank_card if full else masking.bank_card(agent.bank_card),
        bank_name=agent.bank_name,
        wallet_class=agent.wallet_class,
        carrier_since=agent.carrier_since,
        onboarded_on=agent.onboarded_on,
        masked=not full,
    )
