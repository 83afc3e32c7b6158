"""The same firm, or the same agent code, onboarded by two requests at once: the
second is refused with the code that names the clash (PostgreSQL, real locks)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from yirong.agents.service import OPERATOR, AgentInput, get_agent, onboard_agent, onboard_in
from yirong.demo.identities import firm
from yirong.errors import YirongError
from yirong.infra.db import Database, Tx


def second_of_two_at_once(db: Database, first: AgentInput, second: AgentInput) -> str:
    """Onboard ``second`` while ``first`` is onboarded but not yet committed; the
    refusal code the second gets."""
    first_flushed = threading.Event()

    def hold(tx: Tx) -> None:
        onboard_in(tx, first)
        first_flushed.set()
        time.sleep(0.3)  # uncommitted while the second request checks and inserts

    with ThreadPoolExecutor(max_workers=2) as pool:
        one = pool.submit(db.run, hold)
        assert first_flushed.wait(10)
        other = pool.submit(onboard_agent, db, second)
        one.result(timeout=30)
        with pytest.raises(YirongError) as refused:
            other.result(timeout=30)
    assert get_agent(db, first.code, OPERATOR).uscc == first.uscc
    return refused.value.code


def test_the_same_firm_onboarded_twice_at_once_is_refused_as_taken(pg: Database) -> None:
    same_firm = replace(firm(2, code="A2"), uscc=firm(1).uscc)
    assert second_of_two_at_once(pg, firm(1, code="A1"), same_firm) == "agent_uscc_taken"


def test_the_same_agent_code_onboarded_twice_at_once_is_refused_as_taken(pg: Database) -> None:
    other_firm = firm(2, code="A1")
    assert second_of_two_at_once(pg, firm(1, code="A1"), other_firm) == "agent_code_taken"
