"""``yirong serve --workers 2``: two processes on one port behave as one server. The
background jobs (the outbox's deliverer, the pruner) run in one of them only, and a
signed-out session is refused by both within the bound the credentials' cache states
(``access.recent.TTL_SECONDS``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import FIRST_DAY
from tests.databases import fresh_database
from yirong.access.recent import TTL_SECONDS
from yirong.access.service import create_user
from yirong.bench.api import Server
from yirong.books.service import open_books
from yirong.config import new_secret_key

BACKENDS = ["sqlite", "postgresql"]
PROBES = 24  # fresh connections: the kernel spreads them over both workers


def _leaders(log: str) -> dict[str, set[int]]:
    """Which processes said they lead which job."""
    found: dict[str, set[int]] = {}
    for line in log.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("msg") == "leading":
            found.setdefault(record["job"], set()).add(record["pid"])
    return found


def _statuses(base: str, token: str) -> list[int]:
    """``GET /api/v1/me`` on PROBES new connections (so both workers answer some)."""
    found = []
    for _ in range(PROBES):
        with httpx.Client(base_url=base, timeout=10) as client:
            found.append(
                client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code
            )
    return found


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_workers_are_one_server(backend: str, tmp_path: Path) -> None:
    db = fresh_database(backend, tmp_path)
    open_books(db, FIRST_DAY)
    create_user(db, "ops-workers", "ops-workers-password", "operator", "ops")
    url = db.url.render_as_string(hide_password=False)
    db.dispose()
    server = Server(
        url, workers=2, log_dir=tmp_path, secret_key=new_secret_key(), deliver_events=True
    )
    try:
        server.wait_ready()
        base = f"http://127.0.0.1:{server.port}"
        signed_in = httpx.post(
            f"{base}/api/v1/auth/token",
            json={"username": "ops-workers", "password": "ops-workers-password"},
            timeout=30,
        )
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["access_token"]
        assert _statuses(base, token) == [200] * PROBES  # both workers know the token

        out = httpx.post(
            f"{base}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert out.status_code == 204
        signed_out_at = time.monotonic()
        # The worker that signed it out forgets it at once; the other may remember it
        # for at most TTL_SECONDS. After that, no worker takes it.
        time.sleep(max(0.0, TTL_SECONDS + 0.5 - (time.monotonic() - signed_out_at)))
        assert _statuses(base, token) == [401] * PROBES

        time.sleep(1.0)  # the log line of the second worker's first try
        leaders = _leaders(server.tail_all())
        assert {job: len(pids) for job, pids in leaders.items()} == {
            "outbox-deliverer": 1,
            "retention": 1,
        }, leaders
    finally:
        server.stop()
