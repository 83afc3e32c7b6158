"""A funder's officer's system pages: the day's files to download (its own only) and
its keys: issued (shown once), usable by its system, revoked; its events endpoint
set with a secret shown once, a bad one refused."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.bank import fund
from tests.console.signing import PASSWORD, sign_in, token
from tests.databases import BACKENDS
from tests.loans.story import close_days_until, market_with_line
from yirong.access.service import api_keys, create_user
from yirong.api.app import create_app
from yirong.funders import public
from yirong.loans.drawdowns import request_drawdown


@pytest.mark.parametrize("backend", BACKENDS)
def test_files_keys_and_events_of_ones_own(
    tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = market_with_line(backend, tmp_path)
    db, code = market.db, market.code(0)
    order = request_drawdown(db, code, 300_000, 30, "loan")
    fund(db, "T1", order.order_ref, 300_000)
    close_days_until(market, date(2026, 1, 6))  # 2026-01-05 closed: its files made
    for funder in ("T1", "T2"):
        create_user(db, f"{funder.lower()}-officer", PASSWORD, "funder", funder)
    monkeypatch.setattr(public, "loopback_allowed", lambda: True)  # no address but ours
    with TestClient(create_app(db)) as client:
        sign_in(client, "t1-officer")
        files = client.get("/funder/files").text  # T+1: the day just closed
        assert 'href="/funder/files/2026-01-05/LOANS"' in files and "借款明细" in files
        loans = client.get("/funder/files/2026-01-05/LOANS")
        assert loans.content.startswith(b"H|T1|LOANS|20260105|1|")  # its one loan
        assert order.order_ref.encode() in loans.content
        assert client.get("/funder/files/2026-01-05/NOTES").status_code == 404
        page = client.get("/funder/keys").text
        shown = client.post("/funder/keys", data={"csrf_token": token(page), "label": "core"})
        [key] = api_keys(db, "T1")
        assert key.prefix in shown.text and "仅显示这一次" in shown.text
        full = shown.text.split("<code>")[1].split("</code>")[0]
        api = client.get("/api/v1/funders/T1/products", headers={"Authorization": f"Bearer {full}"})
        assert api.status_code == 200  # the key works for T1's system
        assert full not in client.get("/funder/keys").text  # never shown again
        bad = client.post(
            "/funder/events-endpoint", data={"csrf_token": token(page), "url": "ftp://x"}
        )
        assert bad.status_code == 422 and "必须是互联网上的https地址" in bad.text
        url = "https://127.0.0.1:8443/events"
        set_ = client.post("/funder/events-endpoint", data={"csrf_token": token(page), "url": url})
        assert "您的事件将发送到https://127.0.0.1:8443/events" in set_.text
        revoked = client.post(
            f"/funder/keys/{key.id}/revoke",
            data={"csrf_token": token(page)},
            follow_redirects=False,
        )
        assert revoked.headers["location"] == "/funder/keys"
        client.cookies.clear()
        sign_in(client, "t2-officer")
        own = client.get("/funder/files/2026-01-05/LOANS").content
        assert own.startswith(b"H|T2|LOANS|20260105|0|") and order.order_ref.encode() not in own
        mine = client.get("/funder/keys").text
        assert key.prefix not in mine
        other = client.post(f"/funder/keys/{key.id}/revoke", data={"csrf_token": token(mine)})
        assert other.status_code == 404  # T1's key is not T2's to touch
    [after] = api_keys(db, "T1")
    assert after.revoked
