"""The operators' agents: listed masked, found by code, credit code or a part of the
name, opened in full (the look audited), onboarded from the form with every
identifier checked and nothing recorded for a refused one."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from fastapi.testclient import TestClient

from tests.console.signing import PASSWORD, sign_in, token
from yirong.access.service import audit_log, create_user
from yirong.agents.service import onboard_agent
from yirong.api.app import create_app
from yirong.demo.identities import firm
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.wallets import service as wallets


def _form(n: int) -> dict[str, str]:
    data = asdict(firm(n))
    return {k: str(v) for k, v in data.items() if v is not None and k != "carrier_since"}


def test_agents_found_masked_opened_in_full_and_onboarded(db: Database) -> None:
    for n in (1, 2):
        onboard_agent(db, firm(n))
    create_user(db, "ops", PASSWORD, "operator", "ops")
    one = firm(1)
    with TestClient(create_app(db)) as client:
        sign_in(client, "ops")
        listed = client.get("/operator/agents").text
        assert "A000001" in listed and "A000002" in listed
        assert one.uscc not in listed and one.uscc[:4] in listed  # masked
        assert one.mobile not in listed
        by_code = client.get("/operator/agents?q=A000002").text
        assert "A000002" in by_code and 'href="/operator/agents/A000001"' not in by_code
        by_uscc = client.get(f"/operator/agents?q={one.uscc.lower()}").text  # normalised
        assert 'href="/operator/agents/A000001"' in by_uscc
        assert 'href="/operator/agents/A000002"' not in by_uscc
        by_name = client.get(f"/operator/agents?q={one.name[2:5]}").text
        assert 'href="/operator/agents/A000001"' in by_name
        assert "未找到代理商。" in client.get("/operator/agents?q=%25").text  # % is a char
        full = client.get("/operator/agents/A000001").text
        assert one.uscc in full and one.legal_rep_id in full
        # Onboarding: a bad mobile refused plainly, nothing made; then the firm, once.
        page = client.get("/operator/agents").text
        form = _form(3) | {"csrf_token": token(page)}
        bad = client.post("/operator/agents", data=form | {"mobile": "12345"})
        assert bad.status_code == 422 and "不是有效的中国大陆手机号码。" in bad.text
        assert 'value="A000003"' in bad.text  # what was typed, kept
        made = client.post("/operator/agents", data=form, follow_redirects=False)
        assert made.headers["location"] == "/operator/agents/A000003?done=onboarded"
        twice = client.post("/operator/agents", data=form | {"code": "A000004"})
        assert twice.status_code == 422 and "该统一社会信用代码的企业已入驻。" in twice.text
    assert wallets.wallet(db, "agent:A000003").balance == 0
    with pytest.raises(YirongError):  # the refused second firm left nothing behind
        wallets.wallet(db, "agent:A000004")
    looks = [(r.action, r.target) for r in audit_log(db, limit=500)]
    assert ("GET /operator/agents/{code}", "/operator/agents/A000001") in looks
