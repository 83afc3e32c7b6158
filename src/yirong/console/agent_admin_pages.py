"""The operators' agents: found by code, unified social credit code or part of a name,
listed with their identifiers masked; one opened in full (the middleware audits the
look); onboarded from a form, every identifier checked as through the API."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.access.principals import Principal
from yirong.agents.listing import find_agents, list_agents
from yirong.agents.service import OPERATOR, AgentInput, Viewer, get_agent, onboard_agent
from yirong.api.security import DB
from yirong.console import i18n
from yirong.console.forms import operator_or_page, role_form, see_other
from yirong.console.pages import PAGE, refusal_text, refused, render
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.loans.standing import agent_standing, line_use
from yirong.roles import Role
from yirong.wallets import service as wallets

router = APIRouter(include_in_schema=False)
MASKED = Viewer(Role.FUNDER)  # a list shows every agent masked, as the API's list does
FIELDS = ("code", "name", "uscc", "legal_rep_name", "legal_rep_id", "mobile", "bank_card")


@router.get("/operator/agents")
def agents_page(request: Request, db: DB, q: str = "", after: int = 0) -> Response:
    who = operator_or_page(request, db)
    if isinstance(who, Response):
        return who
    if q.strip():
        found = find_agents(db, MASKED, q, after=after, limit=PAGE + 1)
    else:
        found = list_agents(db, MASKED, after=after, limit=PAGE + 1)
    return render(
        request,
        "operator_agents.html",
        who=who,
        q=q,
        found=[v for _, v in found[:PAGE]],
        next_after=found[PAGE - 1][0] if len(found) > PAGE else None,
        labels=i18n.FIRM_FIELDS,
        form={},
    )


@router.get("/operator/agents/{code}")
def agent_page(request: Request, db: DB, code: str) -> Response:
    who = operator_or_page(request, db)
    if isinstance(who, Response):
        return who
    try:
        agent = get_agent(db, code, OPERATOR)  # in full: this look is audited
    except YirongError as exc:
        return refused(request, refusal_text(request, exc.code), 404, who=who)
    handle = f"agent:{agent.code}"
    return render(
        request,
        "operator_agent.html",
        who=who,
        agent=agent,
        wallet=wallets.wallet(db, handle),
        freezes=wallets.freezes_of(db, handle),
        why=i18n.FREEZES,
        standing=agent_standing(db, agent.code),
        use=line_use(db, agent.code),
        labels=i18n.FIRM_FIELDS,
        done=request.query_params.get("done") == "onboarded",
    )


@router.post("/operator/agents")
async def onboard(request: Request, db: DB) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    try:
        since = form.get("carrier_since", "").strip()
        text = {name: form.get(name, "").strip() for name in (*FIELDS, "bank_name")}
        data = AgentInput(
            **text,
            wallet_class=_wallet_class(form.get("wallet_class", "2")),
            carrier_since=date.fromisoformat(since) if since else None,
        )
        made = await run_in_threadpool(onboard_agent, db, data)
    except ValueError:
        return _again(request, db, who, form, refusal_text(request, "business_date_invalid"))
    except YirongError as exc:
        return _again(request, db, who, form, refusal_text(request, exc.code))
    return see_other(f"/operator/agents/{made.code}?done=onboarded")


def _wallet_class(text: str) -> int:
    if not text.strip().isdigit():
        raise YirongError("wallet_class_invalid", wallet_class=text)
    return int(text)


def _again(
    request: Request, db: Database, who: Principal, form: dict[str, str], error: str
) -> Response:
    """The onboarding form again with what was typed, saying why; nothing recorded."""
    found = list_agents(db, MASKED, limit=PAGE)
    return render(
        request,
        "operator_agents.html",
        422,
        who=who,
        q="",
        found=[v for _, v in found],
        next_after=None,
        labels=i18n.FIRM_FIELDS,
        form=form,
        error=error,
    )
