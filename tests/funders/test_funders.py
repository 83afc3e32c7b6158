"""Registering funders and their products, on both databases."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest

from tests.conftest import FIRST_DAY
from yirong.demo.funders import CAREFUL, FACTORING, FUNDERS
from yirong.errors import YirongError
from yirong.funders import scorecard
from yirong.funders.service import (
    MIN_PRODUCT_LIMIT,
    FunderInput,
    ProductInput,
    add_product,
    funder_row,
    funders,
    products_of,
    register_funder,
)
from yirong.infra.db import Database
from yirong.ledger.tables import LedgerBook
from yirong.policy.service import set_setting
from yirong.wallets import service as wallets

FUNDER = FunderInput(
    code="F09",
    name="测试小额贷款有限公司",
    licence="micro_loan",
    contact="风控部 risk@test.example",
    settlement_bank_account="3301040160000009999",
    settlement_bank_name="杭州银行",
    revenue_share=Decimal("0.2"),
    decision_mode="scorecard",
    scorecard=json.dumps(CAREFUL),
)
LINE = ProductInput(
    code="LINE",
    name="经营循环贷",
    kind="revolving",
    method="revolving",
    min_rate=Decimal("0.08"),
    max_rate=Decimal("0.18"),
    min_limit=500_000,
    max_limit=50_000_000,
    min_term_days=7,
    max_term_days=180,
)
TERM = replace(
    LINE,
    code="TERM6",
    kind="term",
    method="equal-installment",
    periods=6,
    min_term_days=180,
    max_term_days=184,
)


def refusal(call: object, *args: object) -> YirongError:
    with pytest.raises(YirongError) as refused:
        call(*args)  # type: ignore[operator]
    return refused.value


def registered(db: Database) -> list[str]:
    return [f.code for f in db.run(funders, readonly=True)]


def product_names(db: Database, funder: str) -> dict[str, str]:
    return {
        p.code: p.name
        for p in db.run(lambda tx: products_of(tx, funder_row(tx, funder)), readonly=True)
    }


def product_codes(db: Database, funder: str) -> list[str]:
    return sorted(product_names(db, funder))


# ---------------------------------------------------------------- funders


def test_registering_a_funder_opens_its_wallet_and_memo_book(db: Database) -> None:
    funder = register_funder(db, FUNDER)
    assert (funder.code, funder.opened_on, funder.revenue_share_ppm) == ("F09", FIRST_DAY, 200_000)
    wallet = wallets.wallet(db, "funder:F09")
    assert (wallet.handle, wallet.name, wallet.balance) == ("funder:F09", FUNDER.name, 0)
    book = db.run(lambda tx: tx.session.get(LedgerBook, "funder:F09"), readonly=True)
    assert book is not None and book.kind == "memo"
    assert registered(db) == ["F09"]


def test_the_demo_funders_register_and_their_products_are_accepted(db: Database) -> None:
    for funder, products in FUNDERS:
        register_funder(db, funder)
        for product in products:
            add_product(db, funder.code, product)
        assert product_codes(db, funder.code) == sorted(p.code for p in products)
        # Each demo scorecard makes its offers for one of its funder's products.
        assert scorecard.parse(funder.scorecard or "").product in product_codes(db, funder.code)
    register_funder(db, FACTORING)
    refused = refusal(add_product, db, FACTORING.code, LINE)
    assert refused.code == "licence_forbids_loans"
    assert product_codes(db, FACTORING.code) == []
    assert registered(db) == ["F01", "F02", "F03", "F04"]


BAD_FUNDERS: list[tuple[dict[str, object], str]] = [
    ({"licence": "bank"}, "licence_invalid"),
    ({"decision_mode": "coin-toss"}, "decision_mode_invalid"),
    ({"scorecard": "{not json"}, "scorecard_invalid"),
    ({"scorecard": json.dumps({**CAREFUL, "colour": "blue"})}, "scorecard_invalid"),
    ({"scorecard": json.dumps({**CAREFUL, "tiers": []})}, "scorecard_invalid"),
    ({"scorecard": None}, "scorecard_invalid"),
    ({"decision_mode": "http", "scorecard": None}, "endpoint_invalid"),
    ({"decision_mode": "http", "endpoint_secret": "s3cret"}, "endpoint_invalid"),
    (
        {"decision_mode": "http", "endpoint_url": "https://funder.example/decide"},
        "endpoint_invalid",
    ),
    (
        {"decision_mode": "http", "endpoint_url": "ftp://funder.example", "endpoint_secret": "s"},
        "endpoint_invalid",
    ),
    (
        {"decision_mode": "http", "endpoint_url": "https://", "endpoint_secret": "s"},
        "endpoint_invalid",
    ),
    ({"revenue_share": Decimal(1)}, "rate_invalid"),
    ({"revenue_share": Decimal("-0.01")}, "rate_invalid"),
    ({"share_settlement": "monthly"}, "share_settlement_invalid"),  # statement or net
    ({"code": "F 01"}, "funder_code_invalid"),  # letters, digits, '-' or '_'
    ({"code": ""}, "funder_code_invalid"),
    ({"name": "  "}, "name_invalid"),
    ({"contact": ""}, "name_invalid"),
]


def test_a_funder_with_a_bad_registration_is_refused(db: Database) -> None:
    for change, code in BAD_FUNDERS:
        refused = refusal(register_funder, db, replace(FUNDER, **change))  # type: ignore[arg-type]
        assert (change, refused.code) == (change, code)
    assert registered(db) == []
    assert refusal(wallets.wallet, db, "funder:F09").code == "wallet_not_found"


def test_http_and_manual_funders_need_no_scorecard(db: Database) -> None:
    http = replace(
        FUNDER,
        code="F10",
        decision_mode="http",
        scorecard=None,
        endpoint_url="https://decide.funder.example/v1",
        endpoint_secret="shared-secret",
    )
    register_funder(db, http)
    register_funder(db, replace(FUNDER, code="F11", decision_mode="manual", scorecard=None))
    assert registered(db) == ["F10", "F11"]
    assert "shared-secret" not in repr(http)  # the shared secret never reaches a log


def test_a_duplicate_funder_code_is_refused(db: Database) -> None:
    register_funder(db, FUNDER)
    again = replace(FUNDER, name="另一家小贷公司")
    assert refusal(register_funder, db, again).code == "funder_code_taken"
    assert db.run(lambda tx: funder_row(tx, "F09").name, readonly=True) == FUNDER.name


def stored_in_full_or_refused(call: object, *args: object) -> YirongError | None:
    """Run the call: a value it cannot keep in full must be refused with a code (as on
    either database), never cut short nor failed by the database itself."""
    try:
        call(*args)  # type: ignore[operator]
    except YirongError as refused:
        return refused
    return None


def test_a_funder_name_at_the_registration_limit_is_stored_or_refused_by_rule(
    db: Database,
) -> None:
    """Registration allows names of up to 200 characters; the wallet's account and the
    memo book are named after the funder ("Wallet of …", "Loans owned by …")."""
    longest = replace(FUNDER, name="贷" * 200, settlement_bank_name="银" * 200)
    refused = stored_in_full_or_refused(register_funder, db, longest)
    if refused is not None:
        assert refused.code == "name_invalid"
        assert registered(db) == []
        return
    assert db.run(lambda tx: funder_row(tx, "F09").settlement_bank_name) == "银" * 200
    assert wallets.wallet(db, "funder:F09").name == "贷" * 200


def test_a_funder_code_too_long_for_its_column_is_stored_or_refused_by_rule(
    db: Database,
) -> None:
    code = "F" * 33  # funders.code holds 32 characters
    refused = stored_in_full_or_refused(register_funder, db, replace(FUNDER, code=code))
    assert registered(db) == ([] if refused is not None else [code])
    if refused is None:
        assert wallets.wallet(db, f"funder:{code}").balance == 0


# ---------------------------------------------------------------- products


@pytest.fixture
def funder(db: Database) -> Database:
    register_funder(db, FUNDER)
    return db


BAD_TERMS: list[dict[str, object]] = [
    {"kind": "bullet"},
    {"method": "equal-installment"},  # a revolving line
    {"periods": 3},  # a revolving line
    {"kind": "term", "method": "revolving", "periods": 6},
    {"kind": "term", "method": "equal-installment", "periods": None},
    {"kind": "term", "method": "equal-installment", "periods": 0},
    {"kind": "term", "method": "balloon", "periods": 6},
    {"min_rate": Decimal(0)},
    {"min_rate": Decimal("-0.01")},
    {"min_rate": Decimal("0.19")},  # above max_rate
    {"max_rate": Decimal(1)},
    {"min_limit": 50_000_001},  # above max_limit
    {"min_term_days": 0},
    {"min_term_days": 181},  # above max_term_days
    {"max_term_days": 367},
    {"day_basis": 366},
    {"day_basis": 30},
    {"penalty_multiplier": Decimal("0.99")},
    {"penalty_multiplier": Decimal("2.01")},
    {"grace_days": -1},
    {"grace_days": 31},
    {"allocation_order": "penalty,interest"},
    {"allocation_order": "penalty,penalty,principal"},
    {"allocation_order": "penalty,interest,principal,fee"},
    {"allocation_order": ""},
    {"fee": Decimal("0.1")},
    {"fee": Decimal("-0.001")},
    {"offer_valid_days": 0},
    {"offer_valid_days": 91},
    {"line_valid_days": 0},
    {"line_valid_days": 3 * 366 + 1},
]


def test_a_product_with_inconsistent_terms_is_refused(funder: Database) -> None:
    for change in BAD_TERMS:
        refused = refusal(add_product, funder, "F09", replace(LINE, **change))  # type: ignore[arg-type]
        assert (change, refused.code) == (change, "product_invalid")
    assert product_codes(funder, "F09") == []


GOOD_TERMS: list[dict[str, object]] = [
    {"penalty_multiplier": Decimal("1.0")},
    {"penalty_multiplier": Decimal("2.0")},
    {"grace_days": 30},
    {"allocation_order": "principal,interest,penalty"},
    {"min_rate": Decimal("0.18")},  # a single rate
    {"min_limit": 50_000_000},  # a single limit
    {"max_term_days": 366},
    {"day_basis": 365},
    {"offer_valid_days": 90, "line_valid_days": 3 * 366},
]


def test_terms_at_the_edge_of_what_is_allowed_are_accepted(funder: Database) -> None:
    for i, change in enumerate(GOOD_TERMS):
        add_product(funder, "F09", replace(LINE, code=f"OK{i}", **change))  # type: ignore[arg-type]
    for method in ("equal-installment", "equal-principal", "interest-only"):
        add_product(funder, "F09", replace(TERM, code=method[:12], method=method))
    assert len(product_codes(funder, "F09")) == len(GOOD_TERMS) + 3


def test_a_product_above_the_rate_cap_is_accepted_once_the_cap_is_raised(funder: Database) -> None:
    # 23% a year on 360 days, a 7-day drawdown of 500,000 yuan: 50,000,000 × 0.23 × 7 /
    # 360 = 223,611.1 -> 223,611 fen, 0.00447222 of it. Simple: × 365 / 7 = 0.2331943,
    # under the 24% cap; compound: 1.00447222^(365/7) − 1 = 0.2619706, over it. The cap
    # applies to the higher figure: refused, at 26.20%.
    pricey = replace(LINE, code="PRICEY", max_rate=Decimal("0.23"))
    refused = refusal(add_product, funder, "F09", pricey)
    assert refused.code == "product_above_rate_cap"
    assert refused.details["apr"] == "0.2620"
    assert Decimal(refused.details["cap"]) == Decimal("0.24")
    set_setting(funder, "apr_cap", "0.30", effective_from=FIRST_DAY.replace(day=6), set_by="op")
    assert refusal(add_product, funder, "F09", pricey).code == "product_above_rate_cap"  # tomorrow
    set_setting(funder, "apr_cap", "0.30", effective_from=FIRST_DAY, set_by="op")
    assert add_product(funder, "F09", pricey).max_rate_ppm == 230_000
    assert product_codes(funder, "F09") == ["PRICEY"]


def test_a_small_minimum_limit_does_not_hide_an_apr_above_the_cap(funder: Database) -> None:
    """At 25% a year, a 7-day drawdown costs about 29% (APR, compound): above
    the 24% cap, however small the product's minimum drawdown."""
    term = Decimal("0.25") * 7 / 360
    assert (1 + term) ** (Decimal(365) / 7) - 1 > Decimal("0.28")
    tiny_minimum = replace(LINE, max_rate=Decimal("0.25"), min_limit=MIN_PRODUCT_LIMIT)
    assert refusal(add_product, funder, "F09", tiny_minimum).code == "product_above_rate_cap"


def test_a_simple_apr_above_the_cap_is_refused_though_the_compound_one_is_under(
    funder: Database,
) -> None:
    # A line drawn for 366 days at 24.004% on 365 days: 50,000,000 × 0.24004 × 366 / 365
    # = 12,034,882.2 -> 12,034,882 fen, 0.24069764 of it. Simple: × 365 / 366 =
    # 0.2400400 > 24%; compound, a little over one term a year:
    # 1.24069764^(365/366) − 1 = 0.2399667 < 24%. (At 5,000 yuan: 120,349 fen, 0.2400404
    # and 0.2399671.) Refused, on the simple figure.
    long = replace(LINE, code="LONG", max_rate=Decimal("0.24004"), day_basis=365)
    long = replace(long, min_term_days=366, max_term_days=366)
    refused = refusal(add_product, funder, "F09", long)
    assert (refused.code, refused.details["apr"]) == ("product_above_rate_cap", "0.2400")
    # At 23.999%: 5,000 yuan cost 120,324 fen, 0.2399905 simple, 0.2399173 compound: accepted.
    add_product(funder, "F09", replace(long, max_rate=Decimal("0.23999")))
    assert product_codes(funder, "F09") == ["LONG"]


def test_a_duplicate_product_code_is_refused_within_a_funder(funder: Database) -> None:
    add_product(funder, "F09", LINE)
    assert refusal(add_product, funder, "F09", LINE).code == "product_code_taken"
    register_funder(funder, replace(FUNDER, code="F10"))
    add_product(funder, "F10", LINE)  # another funder may use the same code
    assert product_codes(funder, "F09") == product_codes(funder, "F10") == ["LINE"]


def test_a_product_for_an_unknown_funder_is_refused(db: Database) -> None:
    assert refusal(add_product, db, "F404", LINE).code == "funder_not_found"


def test_a_product_without_a_code_or_a_name_is_refused(funder: Database) -> None:
    for change in ({"code": ""}, {"code": "  "}, {"name": ""}):
        refused = refusal(add_product, funder, "F09", replace(LINE, **change))
        assert (change, refused.code) == (change, "product_invalid")
    assert product_codes(funder, "F09") == []


def test_a_product_code_or_name_too_long_for_its_column_is_stored_or_refused_by_rule(
    funder: Database,
) -> None:
    long_code = replace(LINE, code="P" * 33)  # funder_products.code holds 32 characters
    long_name = replace(LINE, code="LONG", name="品" * 201)  # and name 200
    kept: dict[str, str] = {}
    for product in (long_code, long_name):
        refused = stored_in_full_or_refused(add_product, funder, "F09", product)
        assert refused is None or refused.code == "product_invalid", product
        if refused is None:
            kept[product.code] = product.name
    assert product_names(funder, "F09") == kept
