"""The OpenAPI document as funders' client generators read it: every schema has a plain
name of its own, and openapi-python-client (the generator funders use) builds a client
from the document with no warning and a function for every route. The generated
client then uploads a commission file both ways, as an operator's tool would."""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.client import Api
from yirong.agents.service import onboard_agents
from yirong.api.app import create_app
from yirong.demo.identities import firm
from yirong.infra.db import Database

# A plain name: words, and a generic's argument between single underscores
# (Page_AgentView_); never a module path, which FastAPI writes with "__" on a clash.
PLAIN = re.compile(r"[A-Z][A-Za-z0-9]*(_[A-Z][A-Za-z0-9]*_)*")
PACKAGE = "yirong_generated_client"


def document() -> dict[str, Any]:
    """The document the server serves at /openapi.json (it needs no database)."""
    return create_app(Database("sqlite://")).openapi()


def test_every_schema_has_a_plain_name_of_its_own() -> None:
    schemas: dict[str, dict[str, Any]] = document()["components"]["schemas"]
    assert len(schemas) > 100  # the whole document, not a part of it
    assert [n for n in schemas if not PLAIN.fullmatch(n)] == []
    # A generator names a class by the schema's title and a module by the name in
    # snake case: both must be unique too.
    titles = Counter(s.get("title", n) for n, s in schemas.items())
    assert [t for t, seen in titles.items() if seen > 1] == []
    folded = Counter(re.sub(r"[^a-z0-9]", "", n.lower()) for n in schemas)
    assert [f for f, seen in folded.items() if seen > 1] == []


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """openapi-python-client run on the document: the package and what it printed."""
    work = tmp_path_factory.mktemp("client")
    (work / "openapi.json").write_text(json.dumps(document()))
    # No formatting hooks (they would need ruff on PATH); the package's own name.
    (work / "config.json").write_text(
        json.dumps({"post_hooks": [], "package_name_override": PACKAGE})
    )
    generator = Path(sys.executable).with_name("openapi-python-client")
    ran = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            "openapi.json",
            "--config",
            "config.json",
            "--meta",
            "none",
            "--output-path",
            PACKAGE,
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    sys.path.insert(0, str(work))
    yield work / PACKAGE, ran.stdout + ran.stderr
    sys.path.remove(str(work))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def test_the_generator_warns_of_nothing(generated: tuple[Path, str]) -> None:
    _, printed = generated
    # It prints one line when all is well; any warning or skipped part adds lines.
    assert [line for line in printed.splitlines() if line.strip()] == [f"Generating {PACKAGE}"]


def _endpoint(module: Path) -> tuple[str, str] | None:
    """(METHOD, path template) of a generated endpoint module, read from its source."""
    for node in ast.walk(ast.parse(module.read_text())):
        if not isinstance(node, ast.Dict):
            continue
        fields = {k.value: v for k, v in zip(node.keys, node.values, strict=True) if k is not None}
        if not {"method", "url"} <= {k for k in fields if isinstance(k, str)}:
            continue
        method, url = fields["method"], fields["url"]
        if isinstance(url, ast.Call) and isinstance(url.func, ast.Attribute):
            url = url.func.value  # "/api/v1/wallets/{handle}".format(...)
        assert isinstance(method, ast.Constant) and isinstance(url, ast.Constant), module
        return str(method.value).upper(), str(url.value)
    return None


def test_the_generated_client_has_a_function_for_every_route(
    generated: tuple[Path, str],
) -> None:
    package, _ = generated
    routes = {
        (method.upper(), path)
        for path, operations in document()["paths"].items()
        for method in operations
    }
    assert len(routes) > 100
    made: set[tuple[str, str]] = set()
    for module in sorted((package / "api").glob("*/*.py")):
        if module.name == "__init__.py":
            continue
        found = _endpoint(module)
        assert found is not None, module
        made.add(found)
        # It imports (a generator's slip, such as a name used but not imported, would
        # only show here) and has its functions.
        name = ".".join((PACKAGE, "api", module.parent.name, module.stem))
        assert callable(importlib.import_module(name).sync_detailed), name
    assert sorted(routes - made) == []  # nothing dropped
    assert sorted(made - routes) == []


def test_the_generated_client_uploads_a_commission_file_both_ways(
    generated: tuple[Path, str], db: Database
) -> None:
    agents = [firm(1), firm(2)]
    onboard_agents(db, agents)
    api = Api(db)
    ops = api.sign_in("operator", "ops")
    # The generated client sends through the app's test client: no network at all.
    client = importlib.import_module(f"{PACKAGE}.client").Client(base_url="http://127.0.0.1")
    client.set_httpx_client(TestClient(api.app, headers=ops.headers))
    File = importlib.import_module(f"{PACKAGE}.types").File
    form = importlib.import_module(f"{PACKAGE}.models.commission_file_upload")
    routes = f"{PACKAGE}.api.wallets.commission_file_api_v1_commissions_files"
    as_body, as_form = (
        importlib.import_module(f"{routes}{end}") for end in ("_post", "_form_post")
    )

    def csv(agent: int, amount: int) -> bytes:
        return f"agent,month,amount\n{agents[agent].code},2025-11,{amount}\n".encode()

    sent = as_form.sync_detailed(
        client=client,
        body=form.CommissionFileUpload(file=File(payload=csv(0, 100), file_name="a.csv")),
        filename="a.csv",
        idempotency_key="gen-1",
    )
    assert sent.status_code == 201, sent.content
    assert (sent.parsed.status, sent.parsed.rows, sent.parsed.total_fen) == ("created", 1, 100)
    bare = as_body.sync_detailed(
        client=client, body=File(payload=csv(1, 250)), filename="b.csv", idempotency_key="gen-2"
    )
    assert bare.status_code == 201, bare.content
    assert (bare.parsed.status, bare.parsed.rows, bare.parsed.total_fen) == ("created", 1, 250)
    # The first file again as a bare CSV body, as existing clients send it: the same file.
    again = ops.post(
        "/api/v1/commissions/files?filename=a.csv",
        content=csv(0, 100),
        headers={"Content-Type": "text/csv"},
        key="auto",
    )
    assert again.status_code == 201, again.text
    assert (again.json()["status"], again.json()["file_id"]) == ("exists", sent.parsed.file_id)
