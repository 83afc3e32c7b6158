"""Routes: the ledger proved from first principles (operators): every check of
``yirong ledger verify``, each with the differences it found."""

from __future__ import annotations

from pydantic import BaseModel, Field

from yirong.api.routing import api_router
from yirong.api.security import DB, Operator
from yirong.ledger.verify import verify

router = api_router("ledger")


class Check(BaseModel):
    name: str
    description: str
    ok: bool
    count: int = Field(description="How many differences it found")
    problems: list[str] = Field(description="The first differences (at most 50)")


class Verification(BaseModel):
    ok: bool = Field(description="Every check passed: the books balance")
    problems: int
    entries: int
    postings: int
    accounts: int
    checks: list[Check]


@router.get(
    "/ledger/verify",
    response_model=Verification,
    summary="Recompute every balance from its postings and check every invariant",
)
def verify_ledger(_who: Operator, db: DB) -> Verification:
    report = verify(db)
    return Verification(
        ok=report.ok,
        problems=report.problems,
        entries=report.entries,
        postings=report.postings,
        accounts=report.accounts,
        checks=[
            Check(
                name=c.name,
                description=c.description,
                ok=c.ok,
                count=c.count,
                problems=c.problems,
            )
            for c in report.checks
        ],
    )
