"""Signing in, tokens and keys, throttling, the audit log, idempotency and the
refusals every route shares (size, content type, unknown fields), on both databases."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update

from tests.api.client import Api, problem_code
from tests.credit.market import lender
from yirong.access import recent, service
from yirong.access.tables import SessionToken
from yirong.agents.service import onboard_agents
from yirong.api.tables import ApiRequest
from yirong.demo.identities import firm
from yirong.errors import YirongError
from yirong.funders.service import register_funder
from yirong.infra.db import Database, Retryable
from yirong.wallets import service as wallets_service
from yirong.wallets.service import credit_from_bank


@pytest.fixture
def api(db: Database) -> Api:
    onboard_agents(db, [firm(1), firm(2)])
    register_funder(db, lender("T1", "0.12", "2")[0])
    register_funder(db, lender("T2", "0.12", "2")[0])
    return Api(db)


def test_a_password_signs_in_and_a_wrong_one_is_refused_then_throttled(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    ops = api.sign_in("operator", "ops")
    assert ops.get("/api/v1/me").json() == {
        "role": "operator",
        "subject": "ops",
        "handle": "operator:ops",
    }
    # The clock stands still, so that the delay cannot run out between the requests.
    monkeypatch.setattr(service, "now", lambda: datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    client = api.client
    for _ in range(5):
        wrong = client.post(
            "/api/v1/auth/token", json={"username": "operator-ops", "password": "not-the-one"}
        )
        assert wrong.status_code == 401 and problem_code(wrong) == "login_failed"
    # The sixth try waits, even with the right password, and says how long (1 s).
    right = client.post(
        "/api/v1/auth/token",
        json={"username": "operator-ops", "password": "operator-ops-password"},
    )
    assert right.status_code == 429 and problem_code(right) == "login_throttled"
    assert right.headers["retry-after"] == "1"
    # An unknown user is refused the same way as a wrong password.
    ghost = client.post("/api/v1/auth/token", json={"username": "ghost", "password": "x" * 12})
    assert ghost.status_code == 401 and problem_code(ghost) == "login_failed"


def test_forged_expired_and_signed_out_tokens_are_refused(api: Api, db: Database) -> None:
    agent = api.sign_in("agent", "A000001")
    assert agent.get("/api/v1/wallets/A000001").status_code == 200
    for forged in ("yrs_forged", "yrk_00000000_forged", "Basic abc", "Bearer"):
        header = forged if " " in forged or forged == "Bearer" else f"Bearer {forged}"
        answer = api.client.get("/api/v1/wallets/A000001", headers={"Authorization": header})
        assert answer.status_code == 401 and problem_code(answer) == "token_invalid"
        assert answer.headers["www-authenticate"] == "Bearer"
    missing = api.anonymous().get("/api/v1/wallets/A000001")
    assert missing.status_code == 401 and problem_code(missing) == "unauthenticated"
    db.run(
        lambda tx: tx.session.execute(
            update(SessionToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    )
    # Changed behind the process's back: it is remembered for up to recent.TTL_SECONDS.
    assert agent.get("/api/v1/wallets/A000001").status_code == 200
    recent.forget_all()  # as if those seconds had passed
    expired = agent.get("/api/v1/wallets/A000001")
    assert expired.status_code == 401 and problem_code(expired) == "token_invalid"
    again = api.sign_in("agent", "A000002")
    assert again.post("/api/v1/auth/logout").status_code == 204
    after = again.get("/api/v1/wallets/A000002")
    assert after.status_code == 401 and problem_code(after) == "token_invalid"


def test_api_keys_are_shown_once_stored_hashed_rotated_with_overlap_and_revoked(
    api: Api, db: Database
) -> None:
    ops = api.sign_in("operator", "ops")
    issued = ops.post("/api/v1/funders/T1/api-keys", json={"label": "lending system"})
    assert issued.status_code == 201
    key, key_id = issued.json()["key"], issued.json()["details"]["id"]
    stored = db.run(lambda tx: tx.conn.execute(text("SELECT secret_hash FROM api_keys")).all())
    assert all(key not in row[0] for row in stored)  # only a hash is kept
    system = {"Authorization": f"Bearer {key}"}
    assert api.client.get("/api/v1/me", headers=system).json()["handle"] == "funder:T1"
    # Another funder cannot see, rotate or revoke T1's key.
    t2 = api.sign_in("funder", "T2")
    assert t2.get("/api/v1/api-keys").json()["items"] == []
    assert problem_code(t2.post(f"/api/v1/api-keys/{key_id}/revoke")) == "api_key_not_found"
    # The funder's staff rotate it (a key may not: see test_api_keys).
    t1 = api.sign_in("funder", "T1")
    rotated = t1.post(f"/api/v1/api-keys/{key_id}/rotate")
    assert rotated.status_code == 201
    new = {"Authorization": f"Bearer {rotated.json()['key']}"}
    # Both work during the overlap; revoking the old one stops it at once.
    assert api.client.get("/api/v1/me", headers=system).status_code == 200
    assert api.client.get("/api/v1/me", headers=new).status_code == 200
    assert api.client.post(f"/api/v1/api-keys/{key_id}/revoke", headers=new).json()["revoked"]
    refused = api.client.get("/api/v1/me", headers=system)
    assert refused.status_code == 401 and problem_code(refused) == "token_invalid"
    again = t1.post(f"/api/v1/api-keys/{key_id}/rotate")
    assert problem_code(again) == "api_key_revoked"
    # A tampered key with a real prefix is refused.
    tampered = {"Authorization": f"Bearer {rotated.json()['key'][:-2]}xx"}
    assert api.client.get("/api/v1/me", headers=tampered).status_code == 401


def test_operator_actions_are_audited_in_an_append_only_log(api: Api, db: Database) -> None:
    ops = api.sign_in("operator", "ops")
    agent = api.sign_in("agent", "A000001")
    ops.post("/api/v1/wallets/A000001/top-ups", json={"amount": 500}, key="audit-1")
    agent.get("/api/v1/wallets/A000001")
    log = ops.get("/api/v1/audit").json()["items"]
    assert [(r["actor"], r["action"], r["status"]) for r in log] == [
        ("operator:ops", "POST /api/v1/wallets/{handle}/top-ups", 201)
    ]  # the agent's read is not an operator action
    with pytest.raises(Exception, match="append-only"):
        db.run(lambda tx: tx.conn.execute(text("UPDATE audit_log SET status = 200")))
    with pytest.raises(Exception, match="append-only"):
        db.run(lambda tx: tx.conn.execute(text("DELETE FROM audit_log")))
    assert len(ops.get("/api/v1/audit").json()["items"]) == 2  # the read above, now audited


def test_the_audit_names_the_person_and_the_credential_and_what_was_created(
    api: Api, db: Database
) -> None:
    ops = api.sign_in("operator", "ops")
    # A second operator's sign-in, made to act "as ops": the log still tells them apart.
    made = ops.post(
        "/api/v1/users",
        json={
            "username": "night-shift",
            "password": "night-shift-pass-1",
            "role": "operator",
            "subject": "ops",
        },
    )
    assert made.status_code == 201, made.text
    token = api.client.post(
        "/api/v1/auth/token", json={"username": "night-shift", "password": "night-shift-pass-1"}
    ).json()["access_token"]
    night = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/wallets/A000001", headers=night).status_code == 200
    agent = api.sign_in("agent", "A000001")
    agent.post("/api/v1/auth/logout", json=None)  # a change made through a person's sign-in
    log = ops.get("/api/v1/audit").json()["items"]
    rows = [
        (r["actor"], r["username"], r["credential"].split(":")[0], r["action"], r["detail"])
        for r in log
    ]
    assert rows == [
        (
            "operator:ops",
            "operator-ops",
            "session",
            "POST /api/v1/users",
            "user night-shift (operator:ops)",
        ),
        ("operator:ops", "night-shift", "session", "GET /api/v1/wallets/{handle}", None),
        ("agent:A000001", "agent-a000001", "session", "POST /api/v1/auth/logout", None),
    ]
    # Each session is its own credential.
    assert log[0]["credential"] != log[1]["credential"]


def test_a_repeat_replays_and_moves_nothing_a_changed_body_is_refused(
    api: Api, db: Database
) -> None:
    ops = api.sign_in("operator", "ops")
    credit_from_bank(db, "A000001", 1_000, "bank-1")  # what the bank's statement showed
    url = "/api/v1/wallets/A000001/carrier-prepayments"
    first = ops.post(url, json={"amount": 700}, key="same")
    again = ops.post(url, json={"amount": 700}, key="same")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert ops.get("/api/v1/wallets/A000001").json()["balance"] == 300
    changed = ops.post(url, json={"amount": 701}, key="same")
    assert changed.status_code == 422 and problem_code(changed) == "idempotency_key_reused"
    other_wallet = ops.post(
        "/api/v1/wallets/A000002/carrier-prepayments", json={"amount": 700}, key="same"
    )
    assert problem_code(other_wallet) == "idempotency_key_reused"
    missing = ops.post(url, json={"amount": 700})
    assert missing.status_code == 428 and problem_code(missing) == "idempotency_key_required"
    spaced = ops.post(url, json={"amount": 700}, key="a b")
    assert problem_code(spaced) == "idempotency_key_invalid"
    # A refusal is stored too: the same key answers the same refusal, even after the
    # bank shows money for the wallet.
    agent = api.sign_in("agent", "A000002")
    short = agent.post("/api/v1/wallets/A000002/carrier-prepayments", json={"amount": 900}, key="p")
    assert short.status_code == 409 and problem_code(short) == "exceeds_credits"
    credit_from_bank(db, "A000002", 5_000, "bank-2")
    replay = agent.post(
        "/api/v1/wallets/A000002/carrier-prepayments", json={"amount": 900}, key="p"
    )
    assert replay.json() == short.json() and replay.headers["idempotent-replayed"] == "true"
    assert agent.get("/api/v1/wallets/A000002").json()["balance"] == 5000
    # Keys are the caller's own: another caller's "p" is a different request.
    other = api.sign_in("agent", "A000001")
    mine = other.post("/api/v1/wallets/A000001/carrier-prepayments", json={"amount": 100}, key="p")
    assert mine.status_code == 201


def test_a_notice_repeated_is_the_same_notice_and_never_money(api: Api) -> None:
    ops = api.sign_in("operator", "ops")
    first = ops.post("/api/v1/wallets/A000001/top-ups", json={"amount": 700}, key="same")
    again = ops.post("/api/v1/wallets/A000001/top-ups", json={"amount": 700}, key="same")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
    assert (first.json()["status"], first.json()["moved_money"]) == ("open", False)
    assert ops.get("/api/v1/wallets/A000001").json()["balance"] == 0  # someone's word
    changed = ops.post("/api/v1/wallets/A000001/top-ups", json={"amount": 701}, key="same")
    assert problem_code(changed) == "idempotency_key_reused"


def test_a_repeat_while_the_first_is_in_flight_gets_a_conflict_and_an_orphan_is_taken_over(
    api: Api, db: Database
) -> None:
    ops = api.sign_in("operator", "ops")
    credit_from_bank(db, "A000001", 1_000, "bank-1")
    url = "/api/v1/wallets/A000001/carrier-prepayments"
    body = {"amount": 300}
    ops.post(url, json=body, key="probe")
    fingerprint = db.run(
        lambda tx: tx.session.get(ApiRequest, ("operator:ops", "probe"))
    ).fingerprint  # what this very request's fingerprint is

    def in_flight(started: datetime) -> None:
        def write(tx: object) -> None:
            tx.session.add(  # type: ignore[attr-defined]
                ApiRequest(
                    caller="operator:ops",
                    key="busy",
                    fingerprint=fingerprint.replace(fingerprint, fingerprint),
                    state="in_flight",
                    started_at=started,
                )
            )

        db.run(write)

    # The fingerprint covers the path: "busy" is for the same route and body as "probe".
    in_flight(datetime.now(UTC))
    busy = ops.post(url, json=body, key="busy")
    assert busy.status_code == 409 and problem_code(busy) == "idempotency_request_in_flight"
    assert busy.headers["retry-after"] == "1"
    assert ops.get("/api/v1/wallets/A000001").json()["balance"] == 700
    # A request in flight for longer than the lease was orphaned (its process died):
    # the repeat takes it over and runs it once.
    db.run(
        lambda tx: tx.session.execute(
            update(ApiRequest)
            .where(ApiRequest.key == "busy")
            .values(started_at=datetime.now(UTC) - timedelta(minutes=5))
        )
    )
    taken = ops.post(url, json=body, key="busy")
    assert taken.status_code == 201
    assert ops.get("/api/v1/wallets/A000001").json()["balance"] == 400


def test_oversized_bodies_wrong_types_and_unknown_fields_are_refused_cleanly(api: Api) -> None:
    ops = api.sign_in("operator", "ops")
    url = "/api/v1/wallets/A000001/top-ups"
    huge = ops.post(url, content=b'{"amount": 1, "pad": "' + b"x" * 300_000 + b'"}', key="big")
    assert huge.status_code == 413 and problem_code(huge) == "body_too_large"
    form = ops.post(url, content=b"amount=1", key="form", headers={"Content-Type": "text/plain"})
    assert form.status_code == 415 and problem_code(form) == "content_type_unsupported"
    extra = ops.post(url, json={"amount": 1, "currency": "USD"}, key="extra")
    assert extra.status_code == 422 and problem_code(extra) == "request_invalid"
    assert extra.json()["errors"][0]["loc"] == ["body", "currency"]
    fraction = ops.post(url, json={"amount": 1.5}, key="fraction")
    assert problem_code(fraction) == "request_invalid"
    as_text = ops.post(url, json={"amount": "100"}, key="text")
    assert problem_code(as_text) == "request_invalid"
    assert ops.get("/api/v1/wallets/A000001").json()["balance"] == 0
    lost = ops.get("/api/v1/no-such-route")
    assert lost.status_code == 404 and problem_code(lost) == "route_not_found"
    wrong_method = ops.delete("/api/v1/wallets/A000001")
    assert problem_code(wrong_method) == "method_not_allowed"


def test_requests_carry_an_id_logs_hold_no_secrets_and_metrics_count(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="yirong.api")
    agent = api.sign_in("agent", "A000001")
    token = agent.headers["Authorization"].split()[1]
    answer = agent.get("/api/v1/wallets/A000001", headers={"X-Request-Id": "trace-42"})
    assert answer.headers["x-request-id"] == "trace-42"
    made = agent.get("/api/v1/wallets/A000001", headers={"X-Request-Id": "bad id!"})
    assert made.headers["x-request-id"] != "bad id!" and len(made.headers["x-request-id"]) == 32
    lines = [r for r in caplog.records if r.getMessage() == "request"]
    traced = [r for r in lines if getattr(r, "request_id", None) == "trace-42"]
    assert traced and traced[0].route == "/api/v1/wallets/{handle}"  # type: ignore[attr-defined]
    assert traced[0].caller == "agent:A000001"  # type: ignore[attr-defined]
    everything = " ".join(str(r.__dict__) for r in caplog.records)
    assert token not in everything and "agent-a000001-password" not in everything
    ops = api.sign_in("operator", "ops")
    metrics = ops.get("/metrics").text
    assert 'route="/api/v1/wallets/{handle}",status="200"' in metrics
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = ops.get("/readyz").json()
    assert ready["status"] == "ready" and ready["business_date"] == "2026-01-05"
    # A map of use and of the schema: not for anyone who asks.
    assert api.client.get("/metrics").status_code == 401
    assert api.client.get("/readyz").status_code == 401
    assert agent.get("/metrics").status_code == 403


def test_every_route_is_documented_with_its_roles_and_every_problem_code_is_listed(
    api: Api,
) -> None:
    spec = api.client.get("/openapi.json").json()
    for path, methods in spec["paths"].items():
        if not path.startswith("/api/v1/") or path.startswith("/api/v1/problems"):
            continue
        for method, operation in methods.items():
            if path == "/api/v1/auth/token":
                continue
            assert operation.get("x-roles"), (method, path)
            assert operation.get("summary"), (method, path)
    codes = {p["code"] for p in api.client.get("/api/v1/problems").json()}
    assert {"idempotency_key_reused", "access_denied", "exceeds_credits"} <= codes
    one = api.client.get("/api/v1/problems/exceeds_credits").json()
    assert one["status"] == 409


def test_every_route_that_needs_a_credential_declares_bearer_security(api: Api) -> None:
    """A client generated from the schema sends ``Authorization: Bearer`` where a route
    needs it, and nowhere else (OpenAPI 3.1, ``http`` scheme ``bearer``)."""
    spec = api.client.get("/openapi.json").json()
    scheme = spec["components"]["securitySchemes"]["HTTPBearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            needs = bool(operation.get("x-roles")) or path in ("/readyz", "/metrics")
            declared = operation.get("security") == [{"HTTPBearer": []}]
            assert declared == needs, (method, path)
    assert "security" not in spec["paths"]["/healthz"]["get"]


def test_the_docs_are_served_from_the_package_not_a_cdn(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    assert "/static/swagger/swagger-ui-bundle.js" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing remote
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        served = api.client.get(f"/static/swagger/{asset}")
        assert served.status_code == 200 and len(served.content) > 10_000
    assert api.client.get("/openapi.json").json()["info"]["title"] == "Yirong (易融) API"


def test_a_sign_in_or_key_that_cannot_be_made_is_refused_with_its_reason(api: Api) -> None:
    """The service's own checks (the shell's ``user add`` and ``key issue`` reach them
    without the API's schema)."""
    good = {"username": "t1-staff", "password": "x" * 12, "role": "funder", "subject": "T1"}
    for change, code in (
        ({"username": "ab"}, "username_invalid"),  # 3 to 64 characters
        ({"username": "t1 staff"}, "username_invalid"),  # no spaces
        ({"password": "x" * 11}, "password_too_weak"),  # 12 at least
        ({"role": "admin"}, "role_invalid"),
        ({"subject": "T9"}, "subject_not_found"),  # no such funder
        ({"role": "agent", "subject": "T1"}, "subject_not_found"),  # T1 is no agent
    ):
        with pytest.raises(YirongError) as refused:
            service.create_user(api.db, **{**good, **change})
        assert (change, refused.value.code) == (change, code)
    service.create_user(api.db, **good)
    with pytest.raises(YirongError) as taken:
        service.create_user(api.db, **{**good, "subject": "T2"})
    assert taken.value.code == "username_taken"
    for days, code in ((0, "api_key_days_invalid"), (367, "api_key_days_invalid")):
        with pytest.raises(YirongError) as refused:
            service.issue_api_key(api.db, "T1", "system", days=days)
        assert (days, refused.value.code) == (days, code)
    with pytest.raises(YirongError) as unknown:
        service.issue_api_key(api.db, "T9", "system")
    assert unknown.value.code == "subject_not_found"
    assert service.issue_api_key(api.db, "T1", "system", days=366).details.label == "system"


def test_a_schema_behind_the_code_is_not_ready_and_a_crash_is_a_plain_500(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    ops = api.sign_in("operator", "ops")
    head = api.db.run(lambda tx: tx.conn.scalar(text("SELECT version_num FROM alembic_version")))
    api.db.run(lambda tx: tx.conn.execute(text("UPDATE alembic_version SET version_num = '0001'")))
    try:
        behind = ops.get("/readyz")
    finally:
        api.db.run(
            lambda tx: tx.conn.execute(
                text("UPDATE alembic_version SET version_num = :v"), {"v": head}
            )
        )
    assert behind.status_code == 503 and problem_code(behind) == "database_busy"
    assert "upgrade" in behind.json()["reason"]
    assert ops.get("/readyz").status_code == 200

    def crash(*args: object) -> None:
        raise RuntimeError("a bug, with a secret 110101199003077777")

    monkeypatch.setattr(wallets_service, "wallet", crash)
    crashed = ops.get("/api/v1/wallets/A000001")
    assert crashed.status_code == 500 and problem_code(crashed) == "internal_error"
    assert "110101199003077777" not in crashed.text  # the cause is logged, not shown


def test_a_database_that_stays_busy_is_given_up_on_after_its_retries(db: Database) -> None:
    tries = []

    def conflicts(tx: object) -> None:
        tries.append(1)
        raise Retryable

    with pytest.raises(YirongError) as refused:
        db.run(conflicts)
    assert (refused.value.code, len(tries)) == ("database_busy", 12)  # MAX_ATTEMPTS
