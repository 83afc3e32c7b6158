"""Rendering a console page: the templates in the reader's language (its cookie; the
default Chinese), the money, date and rate filters, every form's CSRF token, and the
session kept alive. A refusal is a page in the reader's language, never a trace."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from yirong.console import i18n
from yirong.console.i18n import N_
from yirong.console.session import LANGUAGE_COOKIE, csrf_token, keep_session

TEMPLATES = Path(__file__).parent / "templates"
PAGE = 25  # the rows a list shows at a time


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a name a page does not have is an error, not blank
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["yuan"] = i18n.yuan
    env.filters["day"] = lambda value: i18n.day(value, language)
    env.filters["rate"] = i18n.rate
    env.filters["moment"] = i18n.moment
    env.filters["month"] = lambda value: i18n.month(value, language)
    return env


def language(request: Request) -> str:
    return i18n.language_of(request.cookies.get(LANGUAGE_COOKIE))


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = language(request)
    response = HTMLResponse("", status_code=status)
    context = {"who": None, "error": None, **context}  # what every page may ask for
    page = (
        environment(lang)
        .get_template(template)
        .render(
            request=request,
            lang=lang,
            html_lang=i18n.HTML_LANG[lang],
            languages=i18n.LANGUAGES,
            csrf=csrf_token(request, response),
            path=request.url.path,
            **context,
        )
    )
    response.body = response.render(page)
    response.headers["content-length"] = str(len(response.body))
    keep_session(request, response)
    return response


def refused(request: Request, message: str, status: int, **context: Any) -> HTMLResponse:
    """A page that says, in the reader's language, why it was refused."""
    return render(request, "refused.html", status=status, message=message, **context)


# What a refused page says, by the refusal's code; any other code says the last.
PROBLEMS = {
    "route_not_found": N_("There is no such page."),
    "amount_not_yuan": N_("Write an amount in yuan, with at most two decimals (fen)."),
    "amount_zero": N_("The amount must be more than nothing."),
    "amount_negative": N_("The amount cannot be negative."),
    "amount_too_large": N_("That amount is too large."),
    "nothing_owed": N_("You owe nothing: there is nothing to repay."),
    "exceeds_owed": N_("That is more than you owe; repay at most what you owe."),
    "exceeds_credits": N_("Your wallet does not hold that much."),
    "term_prepayment_partial": N_(
        "A loan paid by instalments is repaid by what has fallen due, or all at once."
    ),
    "exceeds_available_limit": N_("That is more than your line has available."),
    "term_invalid": N_("Your line does not lend for that many days."),
    "line_not_active": N_("You have no active credit line."),
    "line_expired": N_("Your credit line has expired."),
    "account_frozen": N_("Your wallet is frozen: no money may leave it but repayments."),
    "loan_overdue": N_("A loan is overdue: repay it before you borrow again."),
    "frozen_by_legal_order": N_("A court's or an authority's order stops new loans."),
    "facility_not_active": N_(
        "You have no active order facility: apply for one on the offers page."
    ),
    "advance_over_rate": N_(
        "The advance is more than the product's advance rate of the order allows."
    ),
    "margin_insufficient": N_(
        "Your wallet does not hold your part of the order and the margin: top it up first."
    ),
    "order_already_financed": N_("This order, or its invoice, is already financed."),
    "order_not_found": N_("There is no such order."),
    "order_not_open": N_("This order was cancelled."),
    "order_invalid": N_(
        "The order is not complete: an order number, at least one line of goods with its"
        " quantity and unit price, and a delivery date from today."
    ),
    "order_taken": N_("This supplier's order number has been entered already."),
    "invoice_taken": N_("This invoice number is on another order."),
    "document_invalid": N_("Choose a contract or an invoice file of up to 10 MB."),
    "supplier_not_whitelisted": N_(
        "This supplier is not on the whitelist: its orders are not financed."
    ),
    "supplier_not_found": N_("There is no such supplier."),
    "supplier_invalid": N_(
        "A supplier's code is 1 to 32 letters, digits, '-' or '_', and it has a name."
    ),
    "supplier_code_taken": N_("A supplier with this code already exists."),
    "supplier_firm_taken": N_("A supplier with this unified social credit code already exists."),
    "supplier_account_invalid": N_("A settlement account is 8 to 32 digits, with its bank's name."),
    "financing_not_found": N_("There is no such financing."),
    "financing_not_open": N_("This financing is no longer open for that."),
    "payout_gate_failed": N_("The supplier cannot be paid yet: see what is missing."),
    "exists_with_different_request": N_(
        "This form was already sent with other figures: open the page again."
    ),
    "idempotency_key_required": N_("This form has lost its key: open the page again."),
    "offer_not_found": N_("This offer is no longer open."),
    "offer_not_yours": N_("This offer is no longer open."),
    "offer_not_live": N_("This offer is no longer open."),
    "offer_expired": N_("This offer has expired."),
    "consent_required": N_(
        "Tick the consent box: the funder may not read your details without it."
    ),
    "consent_invalid": N_("The consent's text has changed: please read it again."),
    "firm_details_mismatch": N_(
        "These details differ from those you registered with: check them, or ask the operator"
        " to correct your registration."
    ),
    "credit_already_engaged": N_(
        "You already have an application in progress or a credit line: see your credit page."
    ),
    "consent_not_found": N_("There is no such consent of yours."),
    "application_not_found": N_("There is no such application of yours."),
    "application_already_decided": N_("This application has already been decided."),
    "consent_withdrawn": N_(
        "The applicant has withdrawn its consent: its details may not be shown."
    ),
    "line_terms_invalid": N_("The limit or the rate is outside your product's terms."),
    "offer_above_rate_cap": N_("At that rate the loan's APR would be above the legal cap."),
    "rate_invalid": N_("Write the rate as a percentage, such as 12.5."),
    "rate_too_precise": N_("A rate has at most four decimals."),
    "valid_days_invalid": N_("A line is valid for 1 to 1,098 days."),
    "rejection_reason_invalid": N_("Choose one of the reasons given."),
    "borrower_not_in_default": N_("This agent owes you nothing past due: no freeze may be asked."),
    "reason_required": N_("Say why: a reason is needed."),
    "freeze_not_liftable": N_(
        "An overdue loan's freeze is lifted when the loan is repaid, not by an operator."
    ),
    "exception_not_found": N_("There is no such exception."),
    "agent_not_found": N_("There is no such agent."),
    "funder_file_not_found": N_("No such file was made."),
    "funder_file_kind_unknown": N_("There is no such kind of file."),
    "api_key_not_found": N_("There is no such key of yours."),
    "events_url_invalid": N_("The endpoint must be an https address on the internet."),
    "month_invalid": N_("That is not a month: write it as 2026-01."),
    "setting_invalid": N_(
        "That value does not fit the rule, or its date is in the past: a rule changes from"
        " today at the earliest."
    ),
    "decision_mode_invalid": N_("A funder decides by scorecard, http or manual."),
    "funder_code_taken": N_("A funder with this code already exists."),
    "funder_code_invalid": N_("A funder code is 1 to 32 letters, digits, '-' or '_'."),
    "funder_not_found": N_("There is no such funder."),
    "licence_forbids_loans": N_("A factoring company may not offer a loan product."),
    "licence_invalid": N_("Choose one of the licences offered."),
    "product_code_taken": N_("The funder already has a product with this code."),
    "product_invalid": N_("The product's terms do not hold together."),
    "product_above_rate_cap": N_("The product's highest APR would pass the legal cap."),
    "scorecard_invalid": N_("The scorecard is not valid."),
    "endpoint_invalid": N_("The decision endpoint is not valid."),
    "agent_code_taken": N_("That agent code is taken."),
    "agent_uscc_taken": N_("A firm with that unified social credit code is already onboarded."),
    "uscc_invalid": N_("That is not a valid unified social credit code."),
    "resident_id_invalid": N_("That is not a valid resident ID card number."),
    "mobile_invalid": N_("That is not a mainland China mobile number."),
    "bank_card_invalid": N_("That is not a valid bank card number."),
    "name_invalid": N_("A name is 1 to 100 characters."),
    "wallet_class_invalid": N_("A wallet's class is 1, 2 or 3."),
    "wallet_owner_invalid": N_("An agent code is 1 to 64 letters, digits, '-' or '_'."),
    "date_in_future": N_("That date is after today's business date."),
    "match_target_invalid": N_("That match does not fit the line."),
    "approval_pending": N_("Another action waits for approval on this exception."),
    "approval_same_operator": N_("The one who asked may not approve: another operator decides."),
    "exception_action_invalid": N_("This action does not apply to this exception."),
    "freeze_request_decided": N_("This request was already decided."),
    "business_date_invalid": N_("Write a date as the date field offers it."),
    "movement_kind_invalid": N_("There is no such kind of movement."),
    "direction_invalid": N_("Choose money in, money out, or both."),
    "date_range_invalid": N_("The first date is after the last."),
    "method_not_allowed": N_("That cannot be done on this page."),
    "request_invalid": N_("That request could not be understood."),
    "internal_error": N_("Something went wrong on our side; it was logged. Nothing was half done."),
}
OTHER = N_("That is not possible (%(code)s).")


def refusal_text(request: Request, code: str) -> str:
    """What a refusal says to the reader, in its language."""
    text = i18n.translations(language(request)).gettext
    return text(PROBLEMS[code]) if code in PROBLEMS else text(OTHER) % {"code": code}


def problem_page(request: Request, code: str, status: int) -> HTMLResponse:
    """A refusal on a console page: a page in the reader's language, never a trace
    or a problem document (the API's own answer to the same)."""
    return refused(request, refusal_text(request, code), status)
