from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.credit.market import Market, build_market
from tests.databases import BACKENDS


@pytest.fixture(params=BACKENDS)
def market(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Market]:
    built = build_market(request.param, tmp_path)
    yield built
    built.db.dispose()
