"""The operators' rules: each shown as in force today with how it is written; a change
set from a date (never the past) is listed until it takes effect."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from tests.conftest import FIRST_DAY
from tests.console.signing import PASSWORD, sign_in, token
from yirong.access.service import create_user
from yirong.api.app import create_app
from yirong.books.service import next_business_day
from yirong.infra.db import Database
from yirong.policy.service import current_settings


def test_a_rule_changed_from_a_date(db: Database) -> None:
    create_user(db, "ops", PASSWORD, "operator", "ops")
    tomorrow = date.fromordinal(FIRST_DAY.toordinal() + 1).isoformat()
    with TestClient(create_app(db)) as client:
        sign_in(client, "ops")
        page = client.get("/operator/policy").text
        assert "年化利率（含费用）的法定上限" in page and "<strong>0.24</strong>" in page
        assert "以小数表示：0.24即24%。" in page
        form = {"csrf_token": token(page), "key": "apr_cap", "effective_from": tomorrow}
        bad = client.post("/operator/policy", data=form | {"value": "twenty"})
        assert bad.status_code == 422 and "该值不符合规则" in bad.text
        past = client.post(
            "/operator/policy", data=form | {"value": "0.2", "effective_from": "2000-01-01"}
        )
        assert past.status_code == 422 and "规则最早从今天起变更" in past.text
        done = client.post("/operator/policy", data=form | {"value": "0.2"}, follow_redirects=False)
        assert done.headers["location"] == "/operator/policy?done=1"
        listed = client.get("/operator/policy").text
        assert "变为0.2" in listed and "<strong>0.24</strong>" in listed  # not yet
    assert current_settings(db)["apr_cap"] == "0.24"
    next_business_day(db)
    assert current_settings(db)["apr_cap"] == "0.2"
