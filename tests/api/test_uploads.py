"""Files come two ways: the bytes as the whole body (as before) or a multipart form with
the file in its ``file`` field, at the same path with ``/form`` added. A form's retry
with its Idempotency-Key is a replay although its boundary changes; a form without
exactly one file changes nothing; each route takes only its own way."""

from __future__ import annotations

import httpx
import pytest

from tests.api.client import Api, Caller, problem_code
from tests.bank import Bank
from yirong.agents.service import onboard_agents
from yirong.demo.identities import firm
from yirong.infra.db import Database

FILES = "/api/v1/commissions/files"
FORM = FILES + "/form"
AGENTS = [firm(1), firm(2)]


@pytest.fixture
def api(db: Database) -> Api:
    onboard_agents(db, AGENTS)
    return Api(db)


def commission_csv(amount: int) -> bytes:
    return f"agent,month,amount\n{AGENTS[0].code},2025-11,{amount}\n".encode()


def send_form(caller: Caller, url: str, key: str, **form: object) -> httpx.Response:
    """A multipart form as httpx makes it: a fresh random boundary each time."""
    return caller.post(url, key=key, params={"filename": "nov.csv"}, **form)


def send_csv(caller: Caller, url: str, key: str, content: bytes) -> httpx.Response:
    """The file as the whole body, as existing clients send it."""
    return send_form(caller, url, key, content=content, headers={"Content-Type": "text/csv"})


def test_a_form_and_a_bare_body_are_the_same_file(api: Api) -> None:
    ops = api.sign_in("operator", "ops")
    made = send_form(ops, FORM, "f1", files={"file": ("nov.csv", commission_csv(700))})
    assert made.status_code == 201, made.text
    assert (made.json()["status"], made.json()["rows"], made.json()["total_fen"]) == (
        "created",
        1,
        700,
    )
    bare = send_csv(ops, FILES, "f2", commission_csv(700))
    assert bare.status_code == 201, bare.text
    assert (bare.json()["status"], bare.json()["file_id"]) == ("exists", made.json()["file_id"])


def test_a_form_retried_with_its_key_is_replayed_though_its_boundary_changes(api: Api) -> None:
    ops = api.sign_in("operator", "ops")
    file = {"file": ("nov.csv", commission_csv(300))}
    first = send_form(ops, FORM, "retry-1", files=file)
    again = send_form(ops, FORM, "retry-1", files=file)
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    # Another file under the same key is another request: refused, not replayed.
    other = send_form(ops, FORM, "retry-1", files={"file": ("nov.csv", commission_csv(301))})
    assert problem_code(other) == "idempotency_key_reused"


def test_a_form_without_exactly_one_file_changes_nothing(api: Api) -> None:
    ops = api.sign_in("operator", "ops")
    content = commission_csv(500)
    # The file as a text field (beside another file part, so that httpx sends multipart).
    as_text = send_form(
        ops, FORM, "bad-1", data={"file": content.decode()}, files={"note": ("n.txt", b"x")}
    )
    assert (as_text.status_code, problem_code(as_text)) == (422, "upload_invalid")
    urlencoded = send_form(ops, FORM, "bad-0", data={"file": content.decode()})
    assert problem_code(urlencoded) == "content_type_unsupported"
    elsewhere = send_form(ops, FORM, "bad-2", files={"csv": ("nov.csv", content)})
    assert problem_code(elsewhere) == "upload_invalid"
    two = send_form(
        ops, FORM, "bad-3", files=[("file", ("a.csv", content)), ("file", ("b.csv", content))]
    )
    assert problem_code(two) == "upload_invalid"
    # Nothing was recorded: the file is new when it finally comes right.
    done = send_form(ops, FORM, "good", files={"file": ("nov.csv", content)})
    assert done.status_code == 201 and done.json()["status"] == "created"


def test_each_route_takes_only_its_own_way(api: Api) -> None:
    ops = api.sign_in("operator", "ops")
    bare_to_form = send_csv(ops, FORM, "w1", commission_csv(100))
    assert (bare_to_form.status_code, problem_code(bare_to_form)) == (
        415,
        "content_type_unsupported",
    )
    form_to_bare = send_form(ops, FILES, "w2", files={"file": ("nov.csv", commission_csv(100))})
    assert problem_code(form_to_bare) == "content_type_unsupported"


def test_a_bank_statement_comes_as_a_form(api: Api, db: Database) -> None:
    ops = api.sign_in("operator", "ops")
    bank = Bank(db)
    bank.credit(12_345, memo="a payment quoting nothing", name="某公司")
    statement = bank.statement_bytes()
    sent = ops.post(
        "/api/v1/bank-statements/form",
        key="s1",
        params={"filename": "stmt.csv"},
        files={"file": ("stmt.csv", statement)},
    )
    assert sent.status_code == 201, sent.text
    assert (sent.json()["status"], sent.json()["lines"], sent.json()["exceptions"]) == (
        "created",
        1,
        1,
    )
    listed = ops.get("/api/v1/bank-statements").json()["items"]
    assert [f["filename"] for f in listed] == ["stmt.csv"]
    raw = ops.get(f"/api/v1/bank-statements/{sent.json()['file_id']}/raw")
    assert raw.content == statement  # the file's bytes, not the form's
