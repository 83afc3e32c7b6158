"""The operator's dated rules. A value applies from its business date on; the
defaults below apply until the operator sets another."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from yirong.books.service import business_date_of
from yirong.errors import YirongError
from yirong.infra.db import Tx, read_only, transactional
from yirong.money import check_amount
from yirong.policy.tables import PolicySetting


@dataclass(frozen=True, slots=True)
class Rule:
    default: str
    check: Callable[[str], object]
    about: str


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("a positive whole number")
    return number


def _rate(value: str) -> Decimal:
    rate = Decimal(value)
    if not Decimal(0) < rate < Decimal(1):
        raise ValueError("a rate between 0 and 1")
    return rate


# Which of an agent's debts its money pays first when they are owed to more than one
# funder (a line from one, order advances from another): the oldest first, whatever
# the product (by the day each was lent); or one product family's before the other's,
# each oldest first.
DEBT_PRIORITIES = ("oldest_first", "line_first", "order_first")


def _debt_priority(value: str) -> str:
    if value not in DEBT_PRIORITIES:
        raise ValueError(f"one of {', '.join(DEBT_PRIORITIES)}")
    return value


RULES: dict[str, Rule] = {
    # All-in annualised cost cap for licensed lenders (九民纪要 Art. 51): every offer's and
    # product's APR (fees included; the higher of simple and compound) must stay at or below it.
    "apr_cap": Rule("0.24", _rate, "legal cap on the annualised rate (APR), as a fraction"),
    "consent_text_version": Rule("2026-01", str, "version of the consent text agents accept"),
    "sample_drawdown_fen": Rule(
        "1000000", lambda v: check_amount(int(v)), "the drawdown whose cost every offer shows (fen)"
    ),
    "preapproval_consent_days": Rule(
        "365", _positive_int, "how long an opt-in to pre-approval lasts (days)"
    ),
    # Maker-checker (四眼原则) on the reconciliation's hand matches and returns.
    "recon_approval_threshold_fen": Rule(
        "5000000",
        lambda v: check_amount(int(v)),
        "a hand match or return of at least this many fen needs a second operator",
    ),
    "debt_priority": Rule(
        "oldest_first",
        _debt_priority,
        "which debts a repayment or a sweep pays first across funders: "
        + " | ".join(DEBT_PRIORITIES),
    ),
}


def setting(tx: Tx, key: str, on: date | None = None) -> str:
    rule = RULES[key]
    day = on or business_date_of(tx)
    value = tx.conn.scalar(
        select(PolicySetting.value)
        .where(PolicySetting.key == key, PolicySetting.effective_from <= day)
        .order_by(PolicySetting.effective_from.desc())
        .limit(1)
    )
    return value if value is not None else rule.default


def apr_cap(tx: Tx, on: date | None = None) -> Decimal:
    return Decimal(setting(tx, "apr_cap", on))


@transactional
def set_setting(tx: Tx, key: str, value: str, *, effective_from: date, set_by: str) -> None:
    """Set a rule from a business date on. The past is never rewritten: a value
    takes effect today at the earliest."""
    rule = RULES.get(key)
    if rule is None:
        raise YirongError("setting_invalid", key=key, known=sorted(RULES))
    try:
        rule.check(value)
    except (ValueError, ArithmeticError, YirongError) as exc:
        raise YirongError("setting_invalid", key=key, value=value, expected=rule.about) from exc
    if effective_from < business_date_of(tx):
        raise YirongError("setting_invalid", key=key, reason="cannot take effect in the past")
    found = tx.session.scalars(
        select(PolicySetting).where(
            PolicySetting.key == key, PolicySetting.effective_from == effective_from
        )
    ).one_or_none()
    if found is None:
        tx.session.add(
            PolicySetting(key=key, value=value, effective_from=effective_from, set_by=set_by)
        )
    else:
        found.value, found.set_by = value, set_by


@read_only
def current_settings(tx: Tx) -> dict[str, str]:
    """Every rule's value on the current business date."""
    return {key: setting(tx, key) for key in RULES}


@dataclass(frozen=True, slots=True)
class ScheduledSetting:
    key: str
    value: str
    effective_from: date
    set_by: str


@read_only
def scheduled_settings(tx: Tx) -> list[ScheduledSetting]:
    """Values set to take effect after the current business date, soonest first."""
    rows = tx.session.scalars(
        select(PolicySetting)
        .where(PolicySetting.effective_from > business_date_of(tx))
        .order_by(PolicySetting.effective_from, PolicySetting.key)
    )
    return [ScheduledSetting(r.key, r.value, r.effective_from, r.set_by) for r in rows]
