"""Registering funders (资金方) and their products."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from yirong.books.service import business_date_of
from yirong.errors import YirongError
from yirong.funders import scorecard
from yirong.funders.accounts import open_funder_accounts
from yirong.funders.tables import Funder, FunderProduct
from yirong.funders.terms import ORDER, REVOLVING, TERM, TERM_METHODS, worst_apr
from yirong.infra.db import Tx, transactional
from yirong.infra.outbound import loopback_allowed, url_problem
from yirong.money import check_amount, rate_to_ppm
from yirong.policy.service import apr_cap
from yirong.wallets.service import open_wallet_in

LICENCES = ("micro_loan", "internet_micro_loan", "factoring")
LOAN_LICENCES = ("micro_loan", "internet_micro_loan")
DECISION_MODES = ("scorecard", "http", "manual")
ALLOCATION_PARTS = ("penalty", "interest", "principal")


@dataclass(frozen=True, slots=True)
class FunderInput:
    code: str
    name: str
    licence: str
    contact: str
    settlement_bank_account: str
    settlement_bank_name: str
    revenue_share: Decimal  # the platform's share of collected interest, e.g. 0.2
    decision_mode: str
    scorecard: str | None = None  # JSON
    endpoint_url: str | None = None
    endpoint_secret: str | None = None
    share_settlement: str = "statement"  # statement | net (kept back from payouts)

    def __repr__(self) -> str:  # never print the shared secret
        return f"FunderInput(code={self.code!r}, decision_mode={self.decision_mode!r}, ...)"


SHARE_SETTLEMENTS = ("statement", "net")


@dataclass(frozen=True, slots=True)
class ProductInput:
    code: str
    name: str
    kind: str  # revolving | term | order
    method: (
        str  # revolving (revolving and order) | equal-installment | equal-principal | interest-only
    )
    min_rate: Decimal
    max_rate: Decimal
    min_limit: int
    max_limit: int
    min_term_days: int
    max_term_days: int
    periods: int | None = None
    day_basis: int = 360
    penalty_multiplier: Decimal = Decimal("1.5")
    grace_days: int = 0
    allocation_order: str = "penalty,interest,principal"
    compounds: bool = True  # a term loan's unpaid overdue interest bears interest (复利)
    fee: Decimal = Decimal(0)  # upfront, on each drawdown, paid by the borrower
    offer_valid_days: int = 14
    line_valid_days: int = 365
    # Order financing: the most an advance may be of the order's value, and the
    # margin held from the wallet as a share of the advance.
    advance_rate: Decimal | None = None
    margin: Decimal | None = None


@transactional
def register_funder(tx: Tx, data: FunderInput) -> Funder:
    return register_in(tx, data)


def register_in(tx: Tx, data: FunderInput) -> Funder:
    """A funder, its payment account (a wallet) and its memo book of loans."""
    if data.licence not in LICENCES:
        raise YirongError("licence_invalid", licence=data.licence, allowed=list(LICENCES))
    if data.decision_mode not in DECISION_MODES:
        raise YirongError("decision_mode_invalid", mode=data.decision_mode)
    if not Decimal(0) <= data.revenue_share < Decimal(1):
        raise YirongError("rate_invalid", revenue_share=str(data.revenue_share))
    if data.share_settlement not in SHARE_SETTLEMENTS:
        raise YirongError(
            "share_settlement_invalid", given=data.share_settlement, allowed=SHARE_SETTLEMENTS
        )
    if data.decision_mode == "scorecard":
        scorecard.parse(data.scorecard or "")
    if data.decision_mode == "http":
        url = data.endpoint_url or ""
        if url_problem(url, loopback_ok=loopback_allowed()) or not data.endpoint_secret:
            raise YirongError("endpoint_invalid")
    _check_code(data.code, "funder_code_invalid")
    _check_text(data.name, 150)  # room for "Loans owned by ..." in an account name
    _check_text(data.contact, 200)
    _check_text(data.settlement_bank_name, 100)
    if not 0 < len(data.settlement_bank_account.strip()) <= 40:
        raise YirongError("name_invalid", field="settlement_bank_account")
    session = tx.session
    if session.scalar(select(Funder.id).where(Funder.code == data.code)) is not None:
        raise YirongError("funder_code_taken", funder=data.code)
    today = business_date_of(tx)
    funder = Funder(
        code=data.code,
        name=data.name.strip(),
        licence=data.licence,
        contact=data.contact.strip(),
        settlement_bank_account=data.settlement_bank_account,
        settlement_bank_name=data.settlement_bank_name.strip(),
        revenue_share_ppm=rate_to_ppm(data.revenue_share),
        share_settlement=data.share_settlement,
        decision_mode=data.decision_mode,
        scorecard=data.scorecard,
        endpoint_url=data.endpoint_url,
        endpoint_secret=data.endpoint_secret,
        opened_on=today,
    )
    session.add(funder)
    session.flush()
    open_wallet_in(tx, f"funder:{data.code}", data.name, today)
    open_funder_accounts(tx, data.code, data.name, today)
    return funder


_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# Products may not lend less than this: fen rounding makes the APR of a tiny loan
# meaningless (interest of half a fen rounds to a whole one, or to none).
MIN_PRODUCT_LIMIT = 10_000  # 100 yuan


def _check_code(code: str, error: str) -> None:
    if not _CODE.match(code):
        raise YirongError(error, code=code[:40])


def _check_text(text: str, longest: int) -> None:
    if not 0 < len(text.strip()) <= longest:
        raise YirongError("name_invalid", longest=longest)


@transactional
def add_product(tx: Tx, funder_code: str, data: ProductInput) -> FunderProduct:
    return add_product_in(tx, funder_code, data)


def add_product_in(tx: Tx, funder_code: str, data: ProductInput) -> FunderProduct:
    """A product, refused if its terms are inconsistent, if the funder's licence does
    not allow loans, or if its worst-case APR is above the legal cap."""
    funder = funder_row(tx, funder_code)
    if funder.licence not in LOAN_LICENCES:
        raise YirongError("licence_forbids_loans", funder=funder_code, licence=funder.licence)
    _check_terms(data)
    product = FunderProduct(
        funder_id=funder.id,
        code=data.code,
        name=data.name,
        kind=data.kind,
        method=data.method,
        min_rate_ppm=rate_to_ppm(data.min_rate),
        max_rate_ppm=rate_to_ppm(data.max_rate),
        min_limit=data.min_limit,
        max_limit=data.max_limit,
        min_term_days=data.min_term_days,
        max_term_days=data.max_term_days,
        periods=data.periods,
        day_basis=data.day_basis,
        penalty_multiplier_ppm=rate_to_ppm(data.penalty_multiplier),
        grace_days=data.grace_days,
        compounds=data.compounds,
        allocation_order=data.allocation_order,
        fee_ppm=rate_to_ppm(data.fee),
        offer_valid_days=data.offer_valid_days,
        line_valid_days=data.line_valid_days,
        advance_rate_ppm=None if data.advance_rate is None else rate_to_ppm(data.advance_rate),
        margin_ppm=None if data.margin is None else rate_to_ppm(data.margin),
        active=True,
    )
    apr = worst_apr(product)
    cap = apr_cap(tx)
    if apr.higher > cap:
        raise YirongError(
            "product_above_rate_cap",
            apr=str(apr.higher.quantize(Decimal("0.0001"))),
            cap=str(cap),
        )
    session = tx.session
    taken = session.scalar(
        select(FunderProduct.id).where(
            FunderProduct.funder_id == funder.id, FunderProduct.code == data.code
        )
    )
    if taken is not None:
        raise YirongError("product_code_taken", product=data.code)
    session.add(product)
    session.flush()
    return product


def _check_terms(data: ProductInput) -> None:
    def bad(reason: str) -> YirongError:
        return YirongError("product_invalid", reason=reason)

    _check_code(data.code, "product_invalid")
    if not 0 < len(data.name.strip()) <= 200:
        raise bad("a product is named in 1 to 200 characters")
    if data.kind in (REVOLVING, ORDER):
        if data.method != REVOLVING or data.periods is not None:
            raise bad(f"a {data.kind} product has method 'revolving' and no periods")
    elif data.kind == TERM:
        if data.method not in TERM_METHODS or not data.periods or data.periods < 1:
            raise bad("a term loan has an instalment method and at least one period")
    else:
        raise bad("kind is revolving, term or order")
    if data.kind == ORDER:
        if data.advance_rate is None or not Decimal("0.1") <= data.advance_rate <= Decimal(1):
            raise bad("an order product advances 10% to 100% of the order's value")
        if data.margin is None or not Decimal(0) <= data.margin <= Decimal("0.5"):
            raise bad("an order product's margin is 0% to 50% of the advance")
        if data.fee:
            # The supplier is paid the whole advance: a fee kept back would leave the
            # order short. The product's price is its rate.
            raise bad("an order product charges no upfront fee")
    elif data.advance_rate is not None or data.margin is not None:
        raise bad("only an order product has an advance rate and a margin")
    if not Decimal(0) < data.min_rate <= data.max_rate < Decimal(1):
        raise bad("0 < min_rate <= max_rate < 100%")
    check_amount(data.min_limit)
    check_amount(data.max_limit)
    if data.min_limit > data.max_limit:
        raise bad("min_limit <= max_limit")
    if data.min_limit < MIN_PRODUCT_LIMIT:
        raise bad("a product lends at least 100 yuan")
    if not 0 < data.min_term_days <= data.max_term_days <= 366:
        raise bad("0 < min_term_days <= max_term_days <= 366")
    if data.day_basis not in (360, 365):
        raise bad("day basis is 360 or 365")
    if not Decimal(1) <= data.penalty_multiplier <= Decimal(2):
        raise bad("penalty multiplier between 1.0 and 2.0 (银发〔2003〕251号)")
    if not 0 <= data.grace_days <= 30:
        raise bad("0 to 30 grace days")
    if sorted(data.allocation_order.split(",")) != sorted(ALLOCATION_PARTS):
        raise bad("allocation order is an ordering of penalty, interest, principal")
    if not Decimal(0) <= data.fee < Decimal("0.1"):
        raise bad("fee below 10% of the drawdown")
    if not 0 < data.offer_valid_days <= 90 or not 0 < data.line_valid_days <= 3 * 366:
        raise bad("offers valid 1-90 days, lines 1 day to 3 years")


def funder_code_of(tx: Tx, funder_id: int) -> str:
    """A funder's code by its id, from this process's memory after the first time (a
    funder's code never changes: it is how everyone names it)."""
    known: dict[int, str] = tx.db.cache("funders.code_by_id", dict)
    found = known.get(funder_id)
    if found is None:
        found = tx.conn.scalar(select(Funder.code).where(Funder.id == funder_id))
        if found is None:
            raise YirongError("funder_not_found", funder=str(funder_id))
        known[funder_id] = found
    return found


def funder_row(tx: Tx, code: str) -> Funder:
    found = tx.session.scalars(select(Funder).where(Funder.code == code)).one_or_none()
    if found is None:
        raise YirongError("funder_not_found", funder=code)
    return found


def products_of(tx: Tx, funder: Funder) -> list[FunderProduct]:
    return list(
        tx.session.scalars(
            select(FunderProduct).where(
                FunderProduct.funder_id == funder.id, FunderProduct.active.is_(True)
            )
        )
    )


def funders(tx: Tx) -> list[Funder]:
    return list(tx.session.scalars(select(Funder).order_by(Funder.code)))
