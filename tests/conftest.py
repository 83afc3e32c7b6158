from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.databases import BACKENDS, drop_own_schema, fresh_database
from yirong.books.service import open_books
from yirong.infra.db import Database
from yirong.wiring import wire

FIRST_DAY = date(2026, 1, 5)


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated database with the books open on FIRST_DAY: once on SQLite,
    once on PostgreSQL."""
    database = fresh_database(request.param, tmp_path)
    open_books(database, FIRST_DAY)
    yield database
    database.dispose()


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Database]:
    """PostgreSQL only: for what needs real row locks and many connections."""
    database = fresh_database("postgresql", tmp_path)
    open_books(database, FIRST_DAY)
    yield database
    database.dispose()


def pytest_configure(config: pytest.Config) -> None:
    # Funders' test systems listen on 127.0.0.1 over plain http: the development
    # setting allows that (and only that). tests/infra/test_outbound.py turns it off.
    os.environ["YIRONG_ALLOW_LOOPBACK_ENDPOINTS"] = "true"
    wire()  # as every entry point does


def pytest_sessionfinish(session: pytest.Session) -> None:
    drop_own_schema()
