"""Routes: the books' business date (anyone signed in), and the end of day (日终) for
operators: close the day (a long run answers when it is done; after a crash, run it
again and it resumes where it stopped) and see how far an interrupted run got."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from yirong.api.idempotency import ServiceKey
from yirong.api.routing import api_router
from yirong.api.security import DB, Anyone, Operator
from yirong.books.service import current_business_date
from yirong.eod.service import eod_status, run_eod

router = api_router("eod")


class NewRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    business_date: date | None = Field(
        None, description="The day to close (default: the books' current date); only that one"
    )


class EodRun(BaseModel):
    business_date: date = Field(description="The day closed")
    done: dict[str, dict[str, Any]] = Field(description="What each step did in this run")
    skipped: list[str] = Field(description="Steps an earlier, interrupted run had done")
    next_business_date: date


class EodStatus(BaseModel):
    business_date: date
    steps_done: list[str] = Field(description="Steps of this day's end of day already done")


class BusinessDate(BaseModel):
    business_date: date


@router.post(
    "/eod/runs",
    response_model=EodRun,
    status_code=201,
    summary="Close the business day: accrual, overdue and freezes, payouts, the next date",
)
def run(_who: Operator, _key: ServiceKey, db: DB, data: NewRun | None = None) -> EodRun:
    report = run_eod(db, data.business_date if data is not None else None)
    return EodRun(
        business_date=report.business_date,
        done=report.done,
        skipped=report.skipped,
        next_business_date=current_business_date(db),
    )


@router.get(
    "/eod/status",
    response_model=EodStatus,
    summary="The books' date and the steps of its end of day already done",
)
def status(_who: Operator, db: DB) -> EodStatus:
    found = eod_status(db)
    return EodStatus(business_date=found["business_date"], steps_done=found["steps_done"])


@router.get("/books/date", response_model=BusinessDate, summary="The books' business date (会计日)")
def business_date(_who: Anyone, db: DB) -> BusinessDate:
    return BusinessDate(business_date=current_business_date(db))
