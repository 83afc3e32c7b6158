"""Personal data is shown in full only to the agent itself and to operators, and
never appears in a repr (logs, tracebacks)."""

from __future__ import annotations

from dataclasses import astuple, replace
from datetime import date

import pytest

from yirong.agents.service import OPERATOR, AgentInput, AgentView, Viewer, get_agent, onboard_agent
from yirong.demo.identities import firm
from yirong.infra.db import Database
from yirong.roles import Role

SHOP = replace(firm(1, code="A001"), mobile="13800138000", legal_rep_name="张三丰")
MOBILE = "+8613800138000"


def secrets_of(data: AgentInput) -> list[str]:
    """Every personal value of the firm, as typed and as stored."""
    return [data.legal_rep_id, data.mobile, MOBILE, data.bank_card]


@pytest.fixture
def onboarded(db: Database) -> Database:
    onboard_agent(db, SHOP)
    onboard_agent(db, firm(2, code="A002"))
    return db


OTHERS = [
    Viewer(Role.FUNDER, "F01"),
    Viewer(Role.AGENT, "A002"),  # another agent
    Viewer(Role.FUNDER, "A001"),  # a funder whose code happens to be the agent's
    Viewer(Role.AGENT, ""),
]


def test_whoever_is_not_the_agent_or_an_operator_sees_it_masked(onboarded: Database) -> None:
    for viewer in OTHERS:
        view = get_agent(onboarded, "A001", viewer)
        assert view.masked, viewer
        shown = " ".join(str(v) for v in astuple(view))
        for secret in secrets_of(SHOP):
            assert secret not in shown, viewer
        assert view.mobile == "+86138****8000"
        for field in ("legal_rep_id", "bank_card"):
            masked, full = getattr(view, field), getattr(SHOP, field)
            assert len(masked) == len(full) and "*" in masked
            assert sum(c != "*" for c in masked) <= 8  # at most the first and last four
            assert all(m in ("*", f) for m, f in zip(masked, full, strict=True))
        assert view.legal_rep_name == "张**"
        assert view.name != SHOP.name and view.uscc != SHOP.uscc
        assert view.code == "A001" and view.bank_name == SHOP.bank_name


def test_the_agent_itself_and_operators_see_it_in_full(onboarded: Database) -> None:
    for viewer in (Viewer(Role.AGENT, "A001"), OPERATOR):
        view = get_agent(onboarded, "A001", viewer)
        assert not view.masked, viewer
        assert (view.name, view.uscc, view.legal_rep_name) == (SHOP.name, SHOP.uscc, "张三丰")
        assert (view.legal_rep_id, view.mobile, view.bank_card) == (
            SHOP.legal_rep_id,
            MOBILE,
            SHOP.bank_card,
        )
        for secret in secrets_of(SHOP):  # not even in the full view's repr
            assert secret not in repr(view)


def test_an_input_never_shows_personal_data_in_its_repr() -> None:
    for shown in (repr(SHOP), str(SHOP), f"{SHOP!r}", repr([SHOP]), repr({"agent": SHOP})):
        for secret in secrets_of(SHOP):
            assert secret not in shown
        assert SHOP.name not in shown


def test_a_view_never_shows_personal_data_in_its_repr() -> None:
    full = AgentView(
        code="A001",
        name=SHOP.name,
        uscc=SHOP.uscc,
        legal_rep_name=SHOP.legal_rep_name,
        legal_rep_id=SHOP.legal_rep_id,
        mobile=MOBILE,
        bank_card=SHOP.bank_card,
        bank_name=SHOP.bank_name,
        wallet_class=2,
        carrier_since=date(2020, 1, 1),
        onboarded_on=date(2026, 1, 5),
        masked=False,
    )
    for shown in (repr(full), str(full), repr([full])):
        for secret in secrets_of(SHOP):
            assert secret not in shown
        assert SHOP.name not in shown
