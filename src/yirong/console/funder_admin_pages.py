"""Funders and their products: the operators register a licensed funder and publish
its products (refused above the legal APR cap, as through the API); a funder's
officer sees its own products as they stand. Rates are typed as percentages, limits
in yuan; the service checks every term."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from yirong.access.principals import Principal
from yirong.api.security import DB
from yirong.console import i18n
from yirong.console.forms import (
    funder_or_page,
    operator_or_page,
    role_form,
    see_other,
)
from yirong.console.pages import refusal_text, render
from yirong.errors import YirongError
from yirong.funders.public import preapproval_policy, public_funders, public_products
from yirong.funders.service import (
    DECISION_MODES,
    LICENCES,
    FunderInput,
    ProductInput,
    add_product,
    register_funder,
)
from yirong.infra.db import Database
from yirong.money import parse_percent, parse_yuan
from yirong.policy.service import current_settings
from yirong.roles import Role

router = APIRouter(include_in_schema=False)
KINDS = ("revolving", "term")
METHODS = ("revolving", "equal-installment", "equal-principal", "interest-only")


def _catalogue(db: Database) -> list[tuple[object, list[object]]]:
    """Every funder with its active products (a platform has a handful of funders)."""
    return [
        (funder, [p for _, p in public_products(db, funder.code, limit=200)])
        for _, funder in public_funders(db, limit=200)
    ]


def _funders_page(
    request: Request,
    db: Database,
    who: Principal,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
    posted_to: str = "",
) -> Response:
    return render(
        request,
        "operator_funders.html",
        status,
        who=who,
        catalogue=_catalogue(db),
        cap=Decimal(current_settings(db)["apr_cap"]),
        licences=LICENCES,
        modes=DECISION_MODES,
        kinds=KINDS,
        method_codes=METHODS,
        methods=i18n.METHODS,
        form=form or {},
        posted_to=posted_to,
        error=error,
        notice=request.query_params.get("done"),
    )


@router.get("/operator/funders")
def funders_page(request: Request, db: DB) -> Response:
    who = operator_or_page(request, db)
    if isinstance(who, Response):
        return who
    return _funders_page(request, db, who)


@router.post("/operator/funders")
async def register(request: Request, db: DB) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    try:
        data = FunderInput(
            code=form.get("code", "").strip(),
            name=form.get("name", "").strip(),
            licence=form.get("licence", ""),
            contact=form.get("contact", "").strip(),
            settlement_bank_account=form.get("settlement_bank_account", "").strip(),
            settlement_bank_name=form.get("settlement_bank_name", "").strip(),
            revenue_share=parse_percent(form.get("revenue_share", "")),
            decision_mode=form.get("decision_mode", ""),
            scorecard=form.get("scorecard", "").strip() or None,
        )
        await run_in_threadpool(register_funder, db, data)
    except YirongError as exc:
        error = refusal_text(request, exc.code)
        return _funders_page(request, db, who, 422, error, form, "funder")
    return see_other("/operator/funders?done=funder")


@router.post("/operator/funders/{code}/products")
async def publish(request: Request, db: DB, code: str) -> Response:
    taken = await role_form(request, db, Role.OPERATOR)
    if isinstance(taken, Response):
        return taken
    who, form = taken
    try:
        data = ProductInput(
            code=form.get("code", "").strip(),
            name=form.get("name", "").strip(),
            kind=form.get("kind", ""),
            method=form.get("method", ""),
            min_rate=parse_percent(form.get("min_rate", "")),
            max_rate=parse_percent(form.get("max_rate", "")),
            min_limit=parse_yuan(form.get("min_limit", "")),
            max_limit=parse_yuan(form.get("max_limit", "")),
            min_term_days=_whole(form, "min_term_days"),
            max_term_days=_whole(form, "max_term_days"),
            periods=_whole(form, "periods") if form.get("periods", "").strip() else None,
            grace_days=_whole(form, "grace_days") if form.get("grace_days", "").strip() else 0,
            fee=parse_percent(form.get("fee", "") or "0"),
        )
        await run_in_threadpool(add_product, db, code, data)
    except YirongError as exc:
        error = refusal_text(request, exc.code)
        return _funders_page(request, db, who, 422, error, form, code)
    return see_other("/operator/funders?done=product")


def _whole(form: dict[str, str], name: str) -> int:
    text = form.get(name, "").strip()
    if not text.isdigit():
        raise YirongError("term_invalid", **{name: text})
    return int(text)


@router.get("/funder/products")
def own_products(request: Request, db: DB) -> Response:
    who = funder_or_page(request, db)
    if isinstance(who, Response):
        return who
    return render(
        request,
        "funder_products.html",
        who=who,
        products=[p for _, p in public_products(db, who.subject, limit=200)],
        policy=preapproval_policy(db, who.subject),
        cap=Decimal(current_settings(db)["apr_cap"]),
        methods=i18n.METHODS,
    )
