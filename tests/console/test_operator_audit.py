"""The audit log's page: newest first, filtered by who, by changes and by day, paged
back in time without a record twice, and taken away as a CSV Excel opens (UTF-8
with its byte-order mark)."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient

from tests.console.signing import PASSWORD, sign_in, token
from yirong.access.service import audit_log, create_user
from yirong.api.app import create_app
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
