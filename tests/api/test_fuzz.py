"""Property-based fuzzing of the whole OpenAPI document (schemathesis): for every
route, valid and invalid requests generated from the schema, sent by a signed-in
operator (who reaches deepest), an agent and an anonymous caller. Whatever is sent, the
API never answers 5xx, and every refusal is a problem document with a catalogued code.

``YIRONG_FUZZ_EXAMPLES`` raises the examples per route (default 12) for a deeper run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from tests.api.client import Api
from tests.databases import BACKENDS
from tests.loans.story import market_with_lines
from yirong.errors import CATALOGUE

EXAMPLES = int(os.environ.get("YIRONG_FUZZ_EXAMPLES", "12"))


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_no_input_makes_the_api_fail_or_answer_outside_problem_documents(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_lines(backend, tmp_path, 2)
    api = Api(market.db)
    callers = {
        "operator": api.sign_in("operator", "ops").headers,
        "agent": api.sign_in("agent", market.code(0)).headers,
        "anonymous": {},
    }
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20  # the whole API, not an empty schema
    negated = 0
    for operation in operations:
        _fuzz(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), callers)
        try:
            _fuzz(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE), callers)
            negated += 1
        except Unsatisfiable:
            pass  # nothing in this route's schema can be violated (no body, free strings)
    assert negated > len(operations) // 2  # invalid input was sent to most routes
    market.db.dispose()


def _fuzz(strategy: Any, callers: dict[str, dict[str, str]]) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        for who, credentials in callers.items():
            headers = {
                k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"
            }
            response = case.call(headers={**headers, **credentials})
            assert response.status_code < 500, (who, case.method, case.path, response.text)
            if response.status_code >= 400:
                media = {k.lower(): v[0] for k, v in response.headers.items()}["content-type"]
                assert media.startswith("application/problem+json"), (who, case.path, response.text)
                body = response.json()
                assert body["code"] in CATALOGUE and body["status"] == response.status_code

    check()
