"""Closing the day from the console: it runs beside the page, whose card shows the
steps as they are done; a second click never closes the next day; a run that stops
leaves its steps done, and running again resumes from there."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import FIRST_DAY
from tests.console.signing import PASSWORD, sign_in, token
from yirong.access.service import create_user
from yirong.api.app import create_app
from yirong.books.service import current_business_date
from yirong.eod import service as eod
from yirong.eod.tables import EodStep
from yirong.errors import YirongError
from yirong.infra.db import Database


def _steps_recorded(db: Database) -> list[str]:
    return db.run(
        lambda tx: list(
            tx.session.scalars(select(EodStep.step).where(EodStep.business_date == FIRST_DAY))
        )
    )


def test_a_day_closed_stopped_and_resumed_from_the_console(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_user(db, "ops", PASSWORD, "operator", "ops")

    def broken(db: Database, day: object) -> dict[str, object]:
        raise YirongError("internal_error")

    monkeypatch.setattr(eod, "_payouts", broken)  # the run stops at its fifth step
    app = create_app(db)
    runs = app.state.day_close
    with TestClient(app) as client:
        sign_in(client, "ops")
        page = client.get("/operator").text
        assert "为2026年1月5日日终" in page and "已完成0/10步" in page
        form = {"csrf_token": token(page), "business_date": FIRST_DAY.isoformat()}
        started = client.post("/operator/eod", data=form, follow_redirects=False)
        assert started.headers["location"] == "/operator"
        runs.wait()
        card = client.get("/operator/eod").text
        assert "上次运行中断（internal_error）" in card and "已完成4/10步" in card
        assert "继续为2026年1月5日日终" in card
        assert current_business_date(db) == FIRST_DAY
        monkeypatch.undo()
        client.post("/operator/eod", data=form)
        runs.wait()
        assert "2026年1月5日已日终。" in client.get("/operator").text
        client.post("/operator/eod", data=form)  # a second click on the old page
        runs.wait()
    assert current_business_date(db) == FIRST_DAY + timedelta(days=1)  # one day, once
    recorded = _steps_recorded(db)
    assert sorted(recorded) == sorted(name for name, _ in eod.steps())  # each step once
