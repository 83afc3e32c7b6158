"""The audit log's page: newest first, filtered by who, by changes and by day, paged
back in time without a record twice, and taken away as a CSV Excel opens (UTF-8
with its byte-order mark)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import insert

from tests.console.signing import PASSWORD, sign_in, token
from yirong.access.service import AuditFilter, audit_log, audit_page, create_user
from yirong.access.tables import AuditRecord
from yirong.api.app import create_app
from yirong.console.i18n import CHINA
from yirong.infra.db import Database


def _ids(page: str) -> list[str]:
    """The request paths the page lists, in its order."""
    body = page.split("<tbody>")[1].split("</tbody>", maxsplit=1)[0]
    return re.findall(r'data-label="路径">([^<]*)<', body)


def test_the_audit_log_filtered_paged_and_exported(db: Database) -> None:
    for name in ("ops-a", "ops-b"):
        create_user(db, name, PASSWORD, "operator", name)
    with TestClient(create_app(db)) as client:
        sign_in(client, "ops-a")
        for n in range(30):  # thirty reads, each recorded
            client.get(f"/operator/exceptions?after={n}")
        page = client.get("/operator").text
        client.post("/signout", data={"csrf_token": token(page)})
        sign_in(client, "ops-b")
        first = client.get("/operator/audit").text
        listed = _ids(first)
        # Newest first: ops-a's sign-out, then its last page (a page's own record is
        # written once it has answered).
        assert len(listed) == 25 and listed[:2] == ["/signout", "/operator"]
        older = re.search(r'href="(/operator/audit\?[^"]*before=\d+)"', first)
        assert older is not None
        second = _ids(client.get(older.group(1).replace("&amp;", "&")).text)
        everything = [r.target for r in reversed(audit_log(db, limit=1000))]
        # Page after page, every record once: the log less ops-b's own two reads.
        assert listed + second == everything[2 : 2 + len(listed) + len(second)]
        # One operator's, and changes only (the sign-out was ops-a's one change).
        mine = _ids(client.get("/operator/audit?actor=operator:ops-b").text)
        assert mine and all(p.startswith("/operator") for p in mine) and len(mine) <= 3
        changes = _ids(client.get("/operator/audit?actor=operator:ops-a&changes=1").text)
        assert changes == ["/signout"]
        assert "这里没有记录。" in client.get("/operator/audit?until=2000-01-01").text
        bad = client.get("/operator/audit?since=yesterday")
        assert bad.status_code == 422 and "请按日期栏的格式填写日期。" in bad.text
        exported = client.get("/operator/audit.csv?actor=operator:ops-a")
    assert exported.headers["content-type"].startswith("text/csv")
    text = exported.content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads UTF-8 only with its mark
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["时间", "操作人", "登录用户", "操作", "路径", "状态"]
    a_records = [r for r in audit_log(db, limit=1000) if r.actor == "operator:ops-a"]
    assert [row[4] for row in rows[1:]] == [r.target for r in reversed(a_records)]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[0]) for row in rows[1:])


def test_days_are_beijing_days_on_both_databases(db: Database) -> None:
    """A record at 2026-01-05 23:30 in Beijing (15:30 UTC) is of the 5th; one at
    00:30 on the 6th in Beijing (16:30 UTC on the 5th) is of the 6th."""
    late, early = (
        datetime(2026, 1, 5, 15, 30, tzinfo=UTC),
        datetime(2026, 1, 5, 16, 30, tzinfo=UTC),
    )

    def record(tx) -> None:  # type: ignore[no-untyped-def]
        for n, at in enumerate((late, early)):
            tx.conn.execute(
                insert(AuditRecord).values(
                    at=at,
                    actor="operator:x",
                    action="GET /operator",
                    target=f"/{n}",
                    status=200,
                    request_id=f"r{n}",
                    credential="",
                    username=None,
                    detail=None,
                )
            )

    db.run(record)
    fifth = datetime(2026, 1, 5, tzinfo=CHINA)
    sixth = datetime(2026, 1, 6, tzinfo=CHINA)
    seventh = datetime(2026, 1, 7, tzinfo=CHINA)
    on = lambda start, end: [  # noqa: E731
        r.target for r in audit_page(db, AuditFilter(actor="operator:x", since=start, until=end))
    ]
    assert on(fifth, sixth) == ["/0"]
    assert on(sixth, seventh) == ["/1"]
