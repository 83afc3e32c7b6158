"""The operator's dated rules, on both databases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.conftest import FIRST_DAY
from yirong.books.service import advance_business_date
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.policy.service import apr_cap, set_setting, setting


def read(db: Database, key: str, on: date | None = None) -> str:
    return db.run(lambda tx: setting(tx, key, on), readonly=True)


def refusal(db: Database, key: str, value: str, effective_from: date = FIRST_DAY) -> str:
    with pytest.raises(YirongError) as refused:
        set_setting(db, key, value, effective_from=effective_from, set_by="op")
    return refused.value.code


def test_the_defaults_apply_until_the_operator_sets_a_value(db: Database) -> None:
    assert db.run(apr_cap, readonly=True) == Decimal("0.24")
    assert read(db, "apr_cap", date(2000, 1, 1)) == "0.24"
    assert read(db, "apr_cap", date(2099, 12, 31)) == "0.24"
    assert int(read(db, "preapproval_consent_days")) == 365


def test_a_value_applies_from_its_date_on(db: Database) -> None:
    set_setting(db, "apr_cap", "0.30", effective_from=date(2026, 2, 1), set_by="op")
    set_setting(db, "apr_cap", "0.20", effective_from=date(2026, 3, 1), set_by="op")
    assert read(db, "apr_cap") == "0.24"  # the business date is still 2026-01-05
    assert read(db, "apr_cap", date(2026, 1, 31)) == "0.24"
    assert read(db, "apr_cap", date(2026, 2, 1)) == "0.30"
    assert read(db, "apr_cap", date(2026, 2, 28)) == "0.30"
    assert db.run(lambda tx: apr_cap(tx, date(2026, 3, 1)), readonly=True) == Decimal("0.20")
    assert read(db, "apr_cap", date(2030, 1, 1)) == "0.20"


def test_a_value_set_for_today_applies_today(db: Database) -> None:
    set_setting(db, "apr_cap", "0.3", effective_from=FIRST_DAY, set_by="op")
    assert db.run(apr_cap, readonly=True) == Decimal("0.3")
    assert read(db, "apr_cap", date(2026, 1, 4)) == "0.24"  # the past is not rewritten


def test_setting_the_same_date_again_replaces_the_value(db: Database) -> None:
    set_setting(db, "apr_cap", "0.30", effective_from=date(2026, 2, 1), set_by="op1")
    set_setting(db, "apr_cap", "0.28", effective_from=date(2026, 2, 1), set_by="op2")
    assert read(db, "apr_cap", date(2026, 2, 1)) == "0.28"


def test_a_value_cannot_take_effect_in_the_past(db: Database) -> None:
    assert refusal(db, "apr_cap", "0.30", effective_from=date(2026, 1, 4)) == "setting_invalid"
    db.run(lambda tx: advance_business_date(tx, date(2026, 1, 6)))
    assert refusal(db, "apr_cap", "0.30", effective_from=FIRST_DAY) == "setting_invalid"
    assert read(db, "apr_cap", FIRST_DAY) == "0.24"


BAD: list[tuple[str, str]] = [
    ("apr_cap", "0"),
    ("apr_cap", "1.5"),
    ("apr_cap", "1"),
    ("apr_cap", "-0.1"),
    ("apr_cap", "24%"),
    ("apr_cap", "abc"),
    ("apr_cap", "NaN"),
    ("apr_cap", ""),
    ("preapproval_consent_days", "0"),
    ("preapproval_consent_days", "1.5"),
    ("sample_drawdown_fen", "0"),
    ("sample_drawdown_fen", "10.5"),
    ("interest_free_days", "30"),  # no such rule
]


def test_an_unknown_key_or_a_bad_value_is_refused(db: Database) -> None:
    for key, value in BAD:
        assert (key, value, refusal(db, key, value)) == (key, value, "setting_invalid")
    assert read(db, "apr_cap") == "0.24"
    assert read(db, "preapproval_consent_days") == "365"
