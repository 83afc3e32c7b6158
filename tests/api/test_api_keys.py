"""Funder credentials (issue 13, point 5), on both databases: only people (a funder's
staff, an operator) issue and rotate keys, so a key cannot mint one that outlives its
own revocation; keys expire (90 days unless asked for less) and say so; a funder's keys
are revoked all at once, over HTTP or from the shell; all of it is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from tests.api.client import Api, problem_code
from tests.credit.market import lender
from yirong.access import recent
from yirong.access.service import audit_log, issue_api_key
from yirong.access.tables import ApiKey
from yirong.cli import app
from yirong.funders.service import register_funder
from yirong.infra.db import Database

V1 = "/api/v1"


@pytest.fixture
def api(db: Database) -> Api:
    register_funder(db, lender("T1", "0.12", "2")[0])
    register_funder(db, lender("T2", "0.12", "2")[0])
    return Api(db)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_cannot_mint_or_rotate_keys_only_people_can(api: Api) -> None:
    system = api.funder_system("T1")
    [key] = api.db.run(lambda tx: tx.session.query(ApiKey.id).all())
    for path in (f"{V1}/funders/T1/api-keys", f"{V1}/api-keys/{key.id}/rotate"):
        refused = system.post(path, {"label": "minted by a key"} if "funders" in path else None)
        assert refused.status_code == 403 and problem_code(refused) == "staff_session_required"
    refused = system.post(f"{V1}/funders/T1/api-keys/revoke-all")
    assert problem_code(refused) == "staff_session_required"
    # The issue's attack: the first key revoked leaves no second behind it.
    assert api.db.run(lambda tx: tx.session.query(ApiKey).count()) == 1
    # The funder's staff and an operator may.
    staff, ops = api.sign_in("funder", "T1"), api.sign_in("operator", "ops")
    assert staff.post(f"{V1}/funders/T1/api-keys", {"label": "by staff"}).status_code == 201
    assert ops.post(f"{V1}/funders/T1/api-keys", {"label": "by ops"}).status_code == 201
    rotated = staff.post(f"{V1}/api-keys/{key.id}/rotate")
    assert rotated.status_code == 201 and rotated.json()["signing_secret"].startswith("yrsig_")
    # A key may still stop one of its own funder's keys (it stops, never starts).
    assert system.post(f"{V1}/api-keys/{key.id}/revoke").json()["revoked"] is True


def test_keys_expire_in_90_days_unless_asked_for_less_and_say_so(api: Api, db: Database) -> None:
    staff = api.sign_in("funder", "T1")
    before = datetime.now(UTC)
    default = staff.post(f"{V1}/funders/T1/api-keys", {"label": "default"}).json()
    short = staff.post(f"{V1}/funders/T1/api-keys", {"label": "short", "days": 7}).json()
    after = datetime.now(UTC)
    for issued, days in ((default, 90), (short, 7)):
        ends = datetime.fromisoformat(issued["details"]["expires_at"])
        assert before + timedelta(days=days) <= ends <= after + timedelta(days=days)
    too_long = staff.post(f"{V1}/funders/T1/api-keys", {"label": "forever", "days": 367})
    assert too_long.status_code == 422
    # The listing shows when each ends.
    listed = {k["label"]: k["expires_at"] for k in staff.get(f"{V1}/api-keys").json()["items"]}
    assert listed == {
        "default": default["details"]["expires_at"],
        "short": short["details"]["expires_at"],
    }
    works = api.client.get(f"{V1}/me", headers=bearer(short["key"]))
    assert works.status_code == 200
    db.run(
        lambda tx: tx.session.execute(
            update(ApiKey)
            .where(ApiKey.id == short["details"]["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    )
    recent.forget_all()  # as if the few seconds a check is remembered had passed
    expired = api.client.get(f"{V1}/me", headers=bearer(short["key"]))
    assert expired.status_code == 401 and problem_code(expired) == "api_key_expired"
    # Only the key's holder learns it expired: a wrong secret on its prefix is unknown.
    forged = short["key"][:-4] + "abcd"
    assert problem_code(api.client.get(f"{V1}/me", headers=bearer(forged))) == "token_invalid"
    assert api.client.get(f"{V1}/me", headers=bearer(default["key"])).status_code == 200


def test_revoke_all_stops_every_key_of_one_funder_and_is_audited(api: Api) -> None:
    t1_keys = [issue_api_key(api.db, "T1", f"system {n}").key for n in range(2)]
    t2_key = issue_api_key(api.db, "T2", "system").key
    staff, t2_staff, ops = (
        api.sign_in("funder", "T1"),
        api.sign_in("funder", "T2"),
        api.sign_in("operator", "ops"),
    )
    # Another funder's keys answer as a missing funder's would.
    assert t2_staff.post(f"{V1}/funders/T1/api-keys/revoke-all").status_code == 404
    done = staff.post(f"{V1}/funders/T1/api-keys/revoke-all")
    assert done.status_code == 200 and done.json() == {"funder": "T1", "revoked": 2}
    for key in t1_keys:
        stopped = api.client.get(f"{V1}/me", headers=bearer(key))
        assert stopped.status_code == 401 and problem_code(stopped) == "token_invalid"
    assert api.client.get(f"{V1}/me", headers=bearer(t2_key)).status_code == 200
    assert ops.post(f"{V1}/funders/T2/api-keys/revoke-all").json()["revoked"] == 1
    assert api.client.get(f"{V1}/me", headers=bearer(t2_key)).status_code == 401
    # A key trying to mint one is audited too, refused.
    system = api.funder_system("T1")
    system.post(f"{V1}/funders/T1/api-keys", {"label": "try"})
    logged = [
        (r.actor, r.action, r.status)
        for r in audit_log(api.db)
        if "api-keys" in r.action  # the operator's other requests are audited as ever
    ]
    assert logged == [
        ("funder:T2", "POST /api/v1/funders/{funder}/api-keys/revoke-all", 404),
        ("funder:T1", "POST /api/v1/funders/{funder}/api-keys/revoke-all", 200),
        ("operator:ops", "POST /api/v1/funders/{funder}/api-keys/revoke-all", 200),
        ("funder:T1", "POST /api/v1/funders/{funder}/api-keys", 403),
    ]


def test_keys_from_the_shell_issue_and_revoke_all_audited(api: Api, db: Database) -> None:
    url = db.url.render_as_string(hide_password=False)
    runner = CliRunner()
    issued = runner.invoke(app, ["--database", url, "api-key", "issue", "T1", "--days", "5"])
    assert issued.exit_code == 0, issued.output
    assert "yrk_" in issued.output and "signing secret" in issued.output
    assert "yrsig_" in issued.output
    gone = runner.invoke(app, ["--database", url, "api-key", "revoke-all", "T1"])
    assert gone.exit_code == 0 and "1 API keys of T1 revoked" in gone.output
    actions = [(r.action, r.target) for r in audit_log(db)]
    assert actions == [
        ("CLI api-key issue", "funder:T1 key 1"),
        ("CLI api-key revoke-all", "funder:T1 (1 keys)"),
    ]
    assert all(r.actor.startswith("cli:") for r in audit_log(db))
