"""Days past due (逾期天数) and the delinquency buckets reports use: M0 current (not
past its due date), M1 1-30 days, M2 31-60, M3 61-90, M3+ over 90. Counted from the
due date, so the grace days show as M1 though no penalty runs yet. The Python and the
SQL here are the one definition the views and the end of day's snapshot share."""

from __future__ import annotations

from datetime import date

from yirong.errors import YirongError

# (most days past due, bucket), in order; anything beyond the last is M3+.
BUCKETS: tuple[tuple[int, str], ...] = ((0, "M0"), (30, "M1"), (60, "M2"), (90, "M3"))
LAST = "M3+"
NAMES = (*(name for _, name in BUCKETS), LAST)


def days_past_due(due_date: date | None, today: date) -> int:
    """Days since the due date (0 on it, or before it, or for a loan not yet lent)."""
    if due_date is None:
        return 0
    return max(0, (today - due_date).days)


def bucket(dpd: int) -> str:
    for most, name in BUCKETS:
        if dpd <= most:
            return name
    return LAST


def days_of(name: str) -> tuple[int, int | None]:
    """The days past due a bucket holds: (fewest, most), None for no most."""
    fewest = 0
    for most, bucket_name in BUCKETS:
        if bucket_name == name:
            return fewest, most
        fewest = most + 1
    if name == LAST:
        return fewest, None
    raise YirongError("bucket_invalid", bucket=name[:10], known=list(NAMES))


def bucket_sql(dpd: str) -> str:
    """:func:`bucket` in SQL over the expression ``dpd``."""
    arms = " ".join(f"WHEN {dpd} <= {most} THEN '{name}'" for most, name in BUCKETS)
    return f"CASE {arms} ELSE '{LAST}' END"
