"""The agent's credit pages: applying to one offer's funder with its firm's details
and a consent that names the data, the funder, the purpose and the end; the line's
limit, what it carries and what is left; consents listed and withdrawn."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.bank import fund
from tests.console.signing import PASSWORD, figures, sign_in, token
from tests.credit.market import TEXT, build_market
from tests.databases import BACKENDS
from tests.loans.story import market_with_line
from yirong.access.service import create_user
from yirong.api.app import create_app
from yirong.books.service import current_business_date
from yirong.credit.applications import current_credit
from yirong.credit.consents import APPLICATION_FIELDS, consents_of
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.credit.queries import list_applications
from yirong.loans.drawdowns import request_drawdown


def _inputs(page: str) -> dict[str, str]:
    """What the page's form fields hold, as the browser would send them (a box
    unticked: a browser sends a checkbox only once it is ticked)."""
    fields = {}
    for tag in re.findall(r"<input [^>]*>", page):
        if 'type="checkbox"' in tag:
            continue
        name, value = re.search(r'name="(\w+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and value:
            fields[name.group(1)] = value.group(1)
    return fields


@pytest.mark.parametrize("backend", BACKENDS)
def test_applying_with_the_firms_details_under_a_stated_consent(
    tmp_path: Path, backend: str
) -> None:
    market = build_market(backend, tmp_path, agents=2, opted_in=1)
    db, code = market.db, market.code(0)
    create_user(db, "agent-0", PASSWORD, "agent", code)
    run_preapproval(db)
    offer = next(o for o in compare_offers(db, code) if o.funder_code == "T2")
    t1_offer = next(o for o in compare_offers(db, code) if o.funder_code == "T1")
    today = current_business_date(db)
    with TestClient(create_app(db)) as client:
        sign_in(client, "agent-0")
        assert f'href="/agent/apply/{offer.id}"' in client.get("/agent/offers").text
        page = client.get(f"/agent/apply/{offer.id}").text
        # The registered details, for the agent to check, and what the consent covers.
        details = market.details(0)
        assert f'value="{details.uscc}"' in page and f'value="+86{details.mobile}"' in page
        assert offer.funder_name in page and "法定代表人身份证号" in page
        assert "用于审批本次申请" in page  # for what
        assert f'value="{today + timedelta(days=365)}"' in page  # until when: a year
        form = _inputs(page)
        form |= {"csrf_token": token(page), "valid_until": "2026-09-30"}
        # Without the box ticked nothing is recorded and nothing goes to the funder.
        unticked = client.post(f"/agent/apply/{offer.id}", data=form)
        assert unticked.status_code == 422 and "请勾选授权" in unticked.text
        form["consent"] = "yes"
        wrong = client.post(f"/agent/apply/{offer.id}", data=form | {"mobile": "13900000000"})
        assert wrong.status_code == 422 and "与您注册时的信息不一致" in wrong.text
        assert [c.purpose for c in consents_of(db, code)] == ["preapproval"]
        assert list_applications(db, agent_code=code) == []
        done = client.post(f"/agent/apply/{offer.id}", data=form, follow_redirects=False)
        again = client.post(f"/agent/apply/{offer.id}", data=form, follow_redirects=False)
        assert done.headers["location"] == again.headers["location"] == "/agent/credit"
        credit = client.get("/agent/credit").text
        assert "等待资金方审批" in credit and "提供给T2，含您的身份信息（授信申请）" in credit
        assert "向Lender T1申请" not in client.get("/agent/offers").text  # one at a time
        # Withdrawn before the funder decides: the agent may apply elsewhere.
        [mine] = list_applications(db, agent_code=code)
        url = f"/agent/applications/{mine.id}/withdraw"
        out = client.post(url, data={"csrf_token": token(credit)})
        again = client.post(url, data={"csrf_token": token(credit)}, follow_redirects=False)
        assert out.status_code == 200 and "申请已撤回" in out.text
        assert again.headers["location"] == "/agent/credit"  # a second click: how it stands
        assert "向Lender T1申请" in client.get("/agent/offers").text
        # Applied again elsewhere: the credit page lists the newest first.
        again_page = client.get(f"/agent/apply/{t1_offer.id}").text
        client.post(
            f"/agent/apply/{t1_offer.id}",
            data=_inputs(again_page) | {"consent": "yes", "csrf_token": token(again_page)},
        )
        listed = client.get("/agent/credit").text
        assert listed.index("等待资金方审批") < listed.index("已撤回")
    application, to_t1 = list_applications(db, agent_code=code)  # the double post: none
    assert (application.funder_code, application.offer_id) == ("T2", offer.id)
    assert application.status == "withdrawn"
    assert (to_t1.funder_code, to_t1.status) == ("T1", "submitted")
    given = next(c for c in consents_of(db, code) if c.purpose == "credit_application")
    assert (given.funder_code, given.valid_until) == ("T2", date(2026, 9, 30))
    assert given.fields == APPLICATION_FIELDS and given.text_version == TEXT


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_line_shows_limit_used_and_available(tmp_path: Path, backend: str) -> None:
    market = market_with_line(backend, tmp_path)
    db, code = market.db, market.code(0)
    create_user(db, "agent-0", PASSWORD, "agent", code)
    _application, line = current_credit(db, code)
    assert line is not None
    waiting = request_drawdown(db, code, 100_000, 30, "waiting")  # asked, not yet funded
    lent = request_drawdown(db, code, 250_000, 30, "lent")
    fund(db, "T1", lent.order_ref, 250_000)
    with TestClient(create_app(db)) as client:
        sign_in(client, "agent-0")
        page = client.get("/agent/credit").text
    shown = figures(page)
    assert shown["已用"] == "¥3,500.00"  # 1,000 asked for and 2,500 lent
    left = line.credit_limit - 350_000
    assert shown["可用额度"] == f"¥{left // 100:,}.{left % 100:02d}"
    assert shown["额度"] == f"¥{line.credit_limit // 100:,}.{line.credit_limit % 100:02d}"
    assert waiting.status == "requested"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_consent_is_withdrawn_from_its_page(tmp_path: Path, backend: str) -> None:
    market = build_market(backend, tmp_path, agents=2, opted_in=2)
    db = market.db
    for n in range(2):
        create_user(db, f"agent-{n}", PASSWORD, "agent", market.code(n))
    [mine] = consents_of(db, market.code(0))
    [theirs] = consents_of(db, market.code(1))
    with TestClient(create_app(db)) as client:
        sign_in(client, "agent-0")
        page = client.get("/agent/credit").text
        assert "提供给所有资金方，不含您的身份信息（预审批）" in page and "撤回此授权" in page
        # Another agent's consent is not this agent's to withdraw: refused, unchanged.
        other = client.post(
            f"/agent/consents/{theirs.id}/withdraw", data={"csrf_token": token(page)}
        )
        assert other.status_code == 404 and "没有这项属于您的授权。" in other.text
        done = client.post(f"/agent/consents/{mine.id}/withdraw", data={"csrf_token": token(page)})
        assert done.status_code == 200 and "授权已撤回" in done.text
        assert "撤回此授权" not in done.text and "已于2026年1月5日撤回。" in done.text
    assert consents_of(db, market.code(0))[0].withdrawn_on == date(2026, 1, 5)
    assert consents_of(db, market.code(1))[0].withdrawn_on is None
