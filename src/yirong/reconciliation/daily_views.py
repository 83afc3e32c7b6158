"""Routes: the day's reconciliation (operators run a day, read a kept day and the days
still unclean, sign one off), the payment batch files sent to the bank (operators),
and each funder's daily files: a funder downloads its own and sends its own loan book
back for comparison, and reads the differences; operators may do both for any."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Path, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from yirong.api.routing import api_router
from yirong.api.security import DB, FunderOrOperator, Operator, hidden
from yirong.api.uploads import CSV_TYPES, UploadedFile, upload_route
from yirong.payments import batch
from yirong.payments.batch import BatchView
from yirong.reconciliation import daily, funder_files, kept_days
from yirong.reconciliation.daily_model import DayFigures
from yirong.reconciliation.funder_files import FileCheck, MadeFile
from yirong.reconciliation.kept_days import DayCounts, KeptDay
from yirong.roles import Role

router = api_router("reconciliation")

Day = Annotated[date, Path(description="The day, YYYY-MM-DD")]
FunderCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
Kind = Literal["LOANS", "REPAYMENTS", "PAYOUTS"]


class DayResult(BaseModel):
    """A day's reconciliation: the totals over the bank accounts, then each account."""

    date: date
    clean: bool
    bank_closing_fen: int
    books_fen: int
    difference_fen: int
    explained_fen: int
    open_items: int
    accounts: list[DayFigures]


class KeptResult(DayResult):
    kept: list[KeptDay]


class UncleanDays(BaseModel):
    counts: DayCounts
    days: list[KeptDay]


class SignOff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f]+$")


def _result(day: date, accounts: list[DayFigures]) -> DayResult:
    return DayResult(
        date=day,
        clean=all(a.clean for a in accounts),
        bank_closing_fen=sum(a.bank.closing for a in accounts if a.bank is not None),
        books_fen=sum(a.books for a in accounts),
        difference_fen=sum(a.difference for a in accounts),
        explained_fen=sum(a.explained for a in accounts),
        open_items=sum(a.open_items for a in accounts),
        accounts=accounts,
    )


@router.post(
    "/recon/days/{day}/run",
    response_model=DayResult,
    summary="Reconcile a closed day, the books against the bank: each bank account's "
    "difference explained item by item; kept, and the same day again finds the same",
)
def run_day(day: Day, who: Operator, db: DB) -> DayResult:
    report = daily.run_day(db, day, actor=who.handle)
    return _result(day, list(report.accounts))


@router.get(
    "/recon/days/{day}",
    response_model=KeptResult,
    summary="A day's kept reconciliation, exactly as it was found",
)
def get_day(day: Day, _who: Operator, db: DB) -> KeptResult:
    kept = kept_days.kept_day(db, day)
    base = _result(day, [k.figures for k in kept])
    return KeptResult(**base.model_dump(), kept=kept)


@router.get(
    "/recon/days",
    response_model=UncleanDays,
    summary="Days whose reconciliation is not clean and nobody has signed off, oldest "
    "first, with how many days are clean and unclean",
)
def unclean_days(_who: Operator, db: DB) -> UncleanDays:
    return UncleanDays(counts=kept_days.day_counts(db), days=kept_days.unclean_days(db))


@router.post(
    "/recon/days/{day}/sign-off",
    response_model=list[KeptDay],
    summary="Sign off an unclean day, saying why: it leaves the list of days to look at",
)
def sign_off(day: Day, data: SignOff, who: Operator, db: DB) -> list[KeptDay]:
    return kept_days.acknowledge_day(db, day, data.note, actor=who.handle)


# ---------------------------------------------------------------- payment batches


@router.get(
    "/payment-batches",
    response_model=list[BatchView],
    summary="The batch files our payments left in for the bank (代付批量文件)",
)
def list_batches(
    _who: Operator, db: DB, day: Annotated[date | None, Query()] = None
) -> list[BatchView]:
    return batch.batches(db, day=day)


@router.get(
    "/payment-batches/{reference}",
    summary="A batch file exactly as sent to the bank",
    response_class=Response,
)
def get_batch(
    reference: Annotated[str, Path(pattern=r"^YB[0-9]{8,14}$")], _who: Operator, db: DB
) -> Response:
    return Response(
        batch.batch_content(db, reference),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{reference}.csv"'},
    )


# ---------------------------------------------------------------- funders' files


def _own(who: FunderOrOperator, funder: str) -> None:
    """A funder reads and compares only its own files."""
    if who.role is Role.FUNDER and who.subject != funder:
        raise hidden("funder_not_found", funder=funder)


@router.get(
    "/funders/{funder}/files",
    response_model=list[MadeFile],
    summary="The daily files made for a funder (loan book, repayments, payouts), T+1",
)
def list_funder_files(
    funder: FunderCode,
    who: FunderOrOperator,
    db: DB,
    day: Annotated[date | None, Query()] = None,
) -> list[MadeFile]:
    _own(who, funder)
    return funder_files.funder_files(db, funder, day=day)


@router.get(
    "/funders/{funder}/files/{day}/{kind}",
    summary="One daily file as made; its .ok marker (rows and SHA-256) in the "
    "X-Yirong-Ok header, or the marker alone with ?ok=true",
    response_class=Response,
)
def get_funder_file(
    funder: FunderCode,
    day: Day,
    kind: Kind,
    who: FunderOrOperator,
    db: DB,
    ok: Annotated[bool, Query(description="The .ok marker instead of the file")] = False,
) -> Response:
    _own(who, funder)
    found = funder_files.funder_file(db, funder, day, kind)
    name = found.name + (".ok" if ok else "")
    return Response(
        found.ok if ok else found.content,
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Yirong-Ok": found.ok.decode().strip(),
        },
    )


@upload_route(
    router,
    "/funders/{funder}/files/{day}/{kind}/compare",
    form="FunderFileUpload",
    what="The funder's own file of the day, as it made it",
    media_types=CSV_TYPES,
    response_model=FileCheck,
    status_code=201,
    summary="The funder's own file of the day, compared with ours line by line; "
    "?ok= is its .ok marker's content",
)
async def compare_funder_file(
    content: UploadedFile,
    funder: FunderCode,
    day: Day,
    kind: Kind,
    who: FunderOrOperator,
    db: DB,
    ok: Annotated[
        str | None,
        Query(max_length=100, pattern=r"^[0-9]+\|[0-9a-f]{64}$", description="rows|sha256"),
    ] = None,
) -> FileCheck:
    _own(who, funder)
    marker = ok.encode() if ok is not None else None
    return await run_in_threadpool(
        lambda: funder_files.compare_funder_file(
            db, funder, day, kind, content, marker, actor=who.handle
        )
    )


@router.get(
    "/funders/{funder}/file-checks",
    response_model=list[FileCheck],
    summary="The comparisons of a funder's files with ours, each with its differences",
)
def list_file_checks(
    funder: FunderCode,
    who: FunderOrOperator,
    db: DB,
    day: Annotated[date | None, Query()] = None,
) -> list[FileCheck]:
    _own(who, funder)
    return funder_files.file_checks(db, funder, day=day)
