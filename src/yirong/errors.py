"""Every refusal Yirong can give: a stable code, a plain message, an HTTP status.

Codes are part of the public contract (CLI exit messages, API problem documents,
tests), so they never change meaning once released; add new ones instead.
TigerBeetle's result names are the model: each failure says exactly what went wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    status: int
    message: str


# code -> (HTTP status, default plain message). Grouped by capability.
CATALOGUE: dict[str, ErrorSpec] = {
    # amounts
    "amount_not_integer": ErrorSpec(422, "Amounts are whole fen (分): an integer, not a fraction."),
    "amount_zero": ErrorSpec(422, "The amount must be more than zero fen."),
    "amount_negative": ErrorSpec(422, "The amount must not be negative."),
    "amount_too_large": ErrorSpec(
        422, "The amount is larger than the 10^15 fen any movement may carry."
    ),
    "amount_not_yuan": ErrorSpec(422, "A yuan amount has at most two decimal places (fen)."),
    "rate_invalid": ErrorSpec(422, "A rate is a non-negative percentage, such as 18.25."),
    "rate_too_precise": ErrorSpec(422, "Rates are kept to a millionth (0.0001%)."),
    # requests
    "idempotency_key_invalid": ErrorSpec(
        422, "An idempotency key is 1 to 128 printable characters without spaces."
    ),
    "entry_needs_two_postings": ErrorSpec(422, "A journal entry needs at least two postings."),
    "entry_not_balanced": ErrorSpec(422, "A journal entry's debits must equal its credits."),
    "accounts_must_be_different": ErrorSpec(
        422, "An account cannot pay itself: it appears on both sides of the entry."
    ),
    "book_mismatch": ErrorSpec(422, "All postings of an entry must be in the same book."),
    "currency_mismatch": ErrorSpec(422, "All postings of an entry must be in the same currency."),
    "pending_entry_needs_two_postings": ErrorSpec(
        422, "A pending (two-phase) entry has exactly one debit and one credit."
    ),
    "expiry_before_business_date": ErrorSpec(
        422, "A hold cannot expire before the current business date."
    ),
    # accounts
    "account_not_found": ErrorSpec(404, "No such account."),
    "account_closed": ErrorSpec(409, "The account is closed."),
    "account_blocked": ErrorSpec(409, "The account is blocked: nothing may move in or out."),
    "account_frozen": ErrorSpec(
        409, "The account is frozen: it takes credits, and refuses debits other than repayment."
    ),
    "account_exists_with_different_attributes": ErrorSpec(
        409, "An account with this code already exists with other attributes."
    ),
    "account_not_empty": ErrorSpec(
        409, "Only an account with a zero balance and no holds may close."
    ),
    "hot_account_cannot_have_limits": ErrorSpec(
        422, "A sharded (hot) account cannot carry a balance limit flag."
    ),
    "book_not_found": ErrorSpec(404, "No such book."),
    "exceeds_credits": ErrorSpec(409, "Not enough money: the debit would overdraw the account."),
    "exceeds_debits": ErrorSpec(409, "The credit would exceed the account's debits limit."),
    "overflows_balance": ErrorSpec(
        409, "The balance would exceed the largest amount the ledger holds."
    ),
    # idempotency (TigerBeetle-style outcomes)
    "exists_with_different_phase": ErrorSpec(
        409,
        "This idempotency key was used for another kind of request (posted, hold, post, void).",
    ),
    "exists_with_different_pending_id": ErrorSpec(
        409, "This idempotency key was used for another pending entry."
    ),
    "exists_with_different_expiry": ErrorSpec(
        409, "This idempotency key was used with another hold expiry."
    ),
    "exists_with_different_accounts": ErrorSpec(
        409, "This idempotency key was used with other accounts."
    ),
    "exists_with_different_amount": ErrorSpec(
        409, "This idempotency key was used with another amount."
    ),
    "exists_with_different_code": ErrorSpec(
        409, "This idempotency key was used for another kind of movement."
    ),
    "exists_with_different_request": ErrorSpec(
        409, "This idempotency key was already used with a different request."
    ),
    "id_already_failed": ErrorSpec(
        409, "This idempotency key was already used by a request that failed; use a new key."
    ),
    # two-phase
    "pending_entry_not_found": ErrorSpec(404, "No such pending entry."),
    "pending_entry_already_posted": ErrorSpec(409, "The hold was already posted."),
    "pending_entry_already_voided": ErrorSpec(409, "The hold was already voided."),
    "pending_entry_expired": ErrorSpec(409, "The hold expired on the business date."),
    "pending_entry_not_expired": ErrorSpec(409, "The hold is still valid on this business date."),
    "exceeds_pending_amount": ErrorSpec(422, "A post cannot be larger than the amount held."),
    # reversals
    "entry_not_found": ErrorSpec(404, "No such posted entry."),
    "entry_already_reversed": ErrorSpec(409, "The entry was already reversed."),
    "cannot_reverse_pending": ErrorSpec(409, "A hold is voided, not reversed."),
    # business date
    "books_not_open": ErrorSpec(409, "The books are not open: set the first business date."),
    "books_already_open": ErrorSpec(409, "The books are already open."),
    "business_date_invalid": ErrorSpec(422, "A business date is written YYYY-MM-DD."),
    "date_in_future": ErrorSpec(422, "The date is after the current business date."),
    # wallets
    "wallet_not_found": ErrorSpec(404, "No such wallet."),
    "wallet_owner_invalid": ErrorSpec(
        422, "A wallet owner code is 1 to 64 letters, digits, '-' or '_'."
    ),
    "wallet_not_frozen": ErrorSpec(409, "The wallet has no active freeze for that reason."),
    "wallet_freeze_reason_invalid": ErrorSpec(422, "Unknown freeze reason."),
    "freeze_not_liftable": ErrorSpec(
        409, "An overdue loan's freeze is lifted when the loan is repaid, not by an operator."
    ),
    "withdrawal_not_found": ErrorSpec(404, "No such withdrawal."),
    "movement_kind_invalid": ErrorSpec(422, "Unknown kind of movement."),
    "direction_invalid": ErrorSpec(422, "A direction is 'in' or 'out'."),
    "date_range_invalid": ErrorSpec(422, "The first date is after the last."),
    # commission files
    "commission_file_invalid": ErrorSpec(
        422, "The commission file has errors; nothing was applied. Each error names its line."
    ),
    "commission_file_empty": ErrorSpec(422, "The commission file has no rows."),
    "commission_file_not_found": ErrorSpec(404, "No such commission file."),
    # outbound payments (代付)
    "payment_not_found": ErrorSpec(404, "No such outbound payment."),
    "payment_not_open": ErrorSpec(
        409, "The payment was already settled, returned or refused by the bank."
    ),
    # the platform's bank accounts
    "bank_account_invalid": ErrorSpec(
        422, "A bank account number is 6 to 34 digits or capital letters."
    ),
    "bank_account_taken": ErrorSpec(
        409, "This bank account is already recorded with another bank or name."
    ),
    # bank statements (银行对账单): a file is imported whole or not at all
    "statement_format_unknown": ErrorSpec(
        422,
        "The file is not a statement layout Yirong reads (camt.053, MT940, 招商银行, "
        "工商银行 or Yirong's CSV); nothing was imported.",
    ),
    "statement_encoding_invalid": ErrorSpec(
        422, "The file's text is neither UTF-8 nor GBK (GB18030); nothing was imported."
    ),
    "statement_malformed": ErrorSpec(
        422, "The statement file is malformed; nothing was imported. The error names the place."
    ),
    "statement_currency_not_cny": ErrorSpec(
        422, "The statement is in a currency other than CNY; nothing was imported."
    ),
    "statement_unbalanced": ErrorSpec(
        422,
        "The statement's lines do not lead from its opening balance to its closing balance; "
        "nothing was imported.",
    ),
    "statement_account_unknown": ErrorSpec(
        422, "The statement is of a bank account the platform does not hold; nothing was imported."
    ),
    "statement_line_conflict": ErrorSpec(
        409,
        "The bank gave a line with this identity before, with another amount, direction or "
        "date; nothing was imported.",
    ),
    "statement_file_not_found": ErrorSpec(404, "No such statement file."),
    # the day's reconciliation (日终对账)
    "recon_day_not_closed": ErrorSpec(
        409,
        "A day is reconciled once it is over: choose a date before the books' business date.",
    ),
    "recon_day_not_run": ErrorSpec(404, "That day has not been reconciled yet."),
    "recon_day_not_unclean": ErrorSpec(
        409, "Only a day whose latest reconciliation is not clean can be signed off."
    ),
    "recon_acknowledge_needs_note": ErrorSpec(
        422, "Signing off an unclean day needs a note saying why."
    ),
    # bank batch files of payments (代付批量文件)
    "payment_batch_future": ErrorSpec(
        409, "A batch holds payments instructed by its day: the day cannot be after today."
    ),
    "payment_batch_not_found": ErrorSpec(404, "No such payment batch."),
    "payment_batch_malformed": ErrorSpec(
        422, "The batch file is not in the documented layout, or its control record disagrees."
    ),
    # the files exchanged with funders (助贷对账文件)
    "funder_file_kind_unknown": ErrorSpec(
        422, "A funder file is one of LOANS, REPAYMENTS or PAYOUTS."
    ),
    "funder_file_not_found": ErrorSpec(404, "No such file: it is made at the end of its day."),
    "funder_file_not_complete": ErrorSpec(
        422,
        "The file is not complete: its .ok marker is missing or does not match it; "
        "nothing was compared.",
    ),
    "funder_file_malformed": ErrorSpec(
        422, "The file is not in the documented funder-file layout; nothing was compared."
    ),
    "funder_file_other_funder": ErrorSpec(
        422, "The file's control record names another funder; nothing was compared."
    ),
    "funder_file_other_kind": ErrorSpec(
        422, "The file's control record names another kind of file; nothing was compared."
    ),
    "funder_file_other_date": ErrorSpec(
        422, "The file's control record is for another date; nothing was compared."
    ),
    "funder_file_foreign_rows": ErrorSpec(
        422, "The file has rows about loans or payouts of another funder; nothing was compared."
    ),
    "funder_file_control_mismatch": ErrorSpec(
        422,
        "The file's control record (row count and totals) does not agree with its rows; "
        "nothing was compared.",
    ),
    # reconciliation (对账): notices, matching, exceptions
    "notice_kind_invalid": ErrorSpec(422, "A notice is about a funding, a top-up or a payment."),
    "bank_ref_used": ErrorSpec(
        409,
        "You quoted this bank reference on an earlier funding notice: each transfer has "
        "its own (the same notice again goes with its first Idempotency-Key).",
    ),
    "funding_differs": ErrorSpec(
        409,
        "The funding differs from what it must agree with (the order, or the notice first "
        "given under this Idempotency-Key): `field` names what, funder, order_ref, amount "
        "or bank_ref. Nothing was done.",
    ),
    "match_rule_not_found": ErrorSpec(404, "No matching rule of that name."),
    "match_rule_invalid": ErrorSpec(
        422, "A rule's tolerance and days are whole numbers from 0 to 1,000,000,000."
    ),
    "exception_resolved": ErrorSpec(409, "The exception was already resolved."),
    "exception_action_invalid": ErrorSpec(
        409,
        "That action does not apply to this exception (a bank line's money can be matched, "
        "returned, or booked to or released from suspense; a notice or a payment alert "
        "can be dismissed).",
    ),
    "match_target_invalid": ErrorSpec(
        422,
        "Say what the money is for: order:<ref>, wallet:<handle> or commission:<ref> for "
        "money in, payment:<ref> for money out.",
    ),
    "match_amount_differs": ErrorSpec(
        409, "The line's amount differs from what it would pay: nothing was matched."
    ),
    "return_needs_counterparty": ErrorSpec(
        409, "The bank line names no account to send the money back to."
    ),
    "approval_pending": ErrorSpec(
        409, "Another action on this exception is waiting for a second operator's approval."
    ),
    "approval_not_found": ErrorSpec(404, "No such approval request."),
    "approval_decided": ErrorSpec(409, "The approval request was already decided."),
    "approval_same_operator": ErrorSpec(
        403, "A second operator must approve: the one who asked cannot."
    ),
    # agents (代理商)
    "agent_not_found": ErrorSpec(404, "No such agent."),
    "agent_code_taken": ErrorSpec(409, "An agent with this agent code is already onboarded."),
    "agent_uscc_taken": ErrorSpec(
        409, "A firm with this unified social credit code is already onboarded."
    ),
    "uscc_invalid": ErrorSpec(422, "Not a valid unified social credit code (GB 32100)."),
    "resident_id_invalid": ErrorSpec(422, "Not a valid resident ID number (GB 11643)."),
    "legal_representative_under_18": ErrorSpec(
        422, "The legal representative must be at least 18 years old."
    ),
    "mobile_invalid": ErrorSpec(422, "Not a valid mainland China mobile number."),
    "bank_card_invalid": ErrorSpec(422, "Not a valid bank card number (16-19 digits, Luhn)."),
    "name_invalid": ErrorSpec(422, "A name is 1 to 100 characters."),
    "wallet_class_invalid": ErrorSpec(422, "A payment account class is 1, 2 or 3."),
    # funders (资金方) and products
    "share_settlement_invalid": ErrorSpec(
        422,
        "The revenue share is settled on the monthly statement (statement) or kept back "
        "from the daily payouts (net).",
    ),
    "frozen_by_legal_order": ErrorSpec(
        409, "A legal order freezes this agent's wallet: no new loan while it stands."
    ),
    "funder_not_found": ErrorSpec(404, "No such funder."),
    "funder_code_taken": ErrorSpec(409, "A funder with this code already exists."),
    "funder_code_invalid": ErrorSpec(422, "A funder code is 1 to 32 letters, digits, '-' or '_'."),
    "licence_invalid": ErrorSpec(422, "Unknown licence kind."),
    "licence_forbids_loans": ErrorSpec(
        422, "A factoring company may only buy receivables; it cannot offer a loan product."
    ),
    "decision_mode_invalid": ErrorSpec(422, "A funder decides by scorecard, http or manual."),
    "scorecard_invalid": ErrorSpec(422, "The scorecard configuration is invalid."),
    "endpoint_invalid": ErrorSpec(
        422,
        "An HTTP funder needs an https URL to a public address (by name or plain IPv4/IPv6) "
        "and a shared secret.",
    ),
    "product_not_found": ErrorSpec(404, "No such product."),
    "product_code_taken": ErrorSpec(409, "The funder already has a product with this code."),
    "product_invalid": ErrorSpec(422, "The product's terms are inconsistent."),
    "product_above_rate_cap": ErrorSpec(
        422, "The annualised rate (APR) would exceed the legal cap the operator configured."
    ),
    "setting_invalid": ErrorSpec(422, "Invalid value for this setting."),
    # pre-approval, offers, consent, formal credit
    "offer_not_found": ErrorSpec(404, "No such offer."),
    "valid_days_invalid": ErrorSpec(422, "A line is valid for 1 to 1,098 days."),
    "bucket_invalid": ErrorSpec(422, "A bucket is M0, M1, M2, M3 or M3+."),
    "offer_not_yours": ErrorSpec(403, "This offer was made to another agent."),
    "offer_expired": ErrorSpec(409, "The offer has expired."),
    "offer_not_live": ErrorSpec(409, "The offer is no longer open."),
    "offer_above_rate_cap": ErrorSpec(
        422, "The offer's annualised rate (APR) exceeds the legal cap."
    ),
    "offer_outside_product": ErrorSpec(422, "The offer is outside its product's terms."),
    "consent_required": ErrorSpec(
        422, "Explicit consent is needed before any identified data goes to the funder."
    ),
    "consent_invalid": ErrorSpec(422, "The consent does not cover what the application needs."),
    "consent_not_found": ErrorSpec(404, "No such consent."),
    "consent_withdrawn": ErrorSpec(409, "The consent was withdrawn."),
    "firm_details_mismatch": ErrorSpec(
        422, "The confirmed firm details differ from the agent's record."
    ),
    "credit_already_engaged": ErrorSpec(
        409, "The agent already has a formal application or credit line with a funder."
    ),
    "application_not_found": ErrorSpec(404, "No such application."),
    "application_already_decided": ErrorSpec(409, "The application was already decided."),
    "rejection_reason_invalid": ErrorSpec(422, "Unknown rejection reason code."),
    "line_terms_invalid": ErrorSpec(422, "The credit line's terms are outside the product."),
    "line_not_found": ErrorSpec(404, "No such credit line."),
    "line_not_active": ErrorSpec(409, "The credit line is not active."),
    "line_has_debt": ErrorSpec(409, "A line with outstanding debt cannot be closed."),
    # loans
    "day_basis_invalid": ErrorSpec(422, "The day basis is 360 or 365."),
    "exists_with_different_term": ErrorSpec(
        409, "This key was used for a drawdown with another term: nothing was ordered."
    ),
    "line_expired": ErrorSpec(409, "The credit line's validity has ended: it lends no more."),
    "loan_overdue": ErrorSpec(
        409, "A loan is overdue: no new drawdown until the overdue debt is repaid."
    ),
    "term_invalid": ErrorSpec(422, "The term is outside what the product and line allow."),
    "exceeds_available_limit": ErrorSpec(
        409, "The amount is more than the line has available (limit less what is in use)."
    ),
    "drawdown_not_found": ErrorSpec(404, "No such drawdown."),
    "drawdown_not_pending": ErrorSpec(
        409, "The drawdown is no longer waiting for money: it was funded or closed."
    ),
    "drawdown_not_lent": ErrorSpec(
        409, "The drawdown is not a running loan (never lent, or closed): this does not apply."
    ),
    "drawdown_not_funded": ErrorSpec(
        409, "No money waits with the funder for this drawdown: there is nothing to return."
    ),
    "drawdown_not_escrowed": ErrorSpec(
        409, "No advance waits in escrow for this drawdown: there is no supplier to pay."
    ),
    "nothing_owed": ErrorSpec(409, "Nothing is owed: there is nothing to repay."),
    "exceeds_owed": ErrorSpec(422, "The amount is more than is owed; repay at most what is owed."),
    "term_prepayment_partial": ErrorSpec(
        422,
        "A term loan is repaid by its instalments or all at once: pay at most what is due "
        "now, or everything owed.",
    ),
    "exception_not_found": ErrorSpec(404, "No such reconciliation exception."),
    "repayment_not_found": ErrorSpec(404, "No such repayment."),
    "reason_required": ErrorSpec(422, "Say why: a reversal needs a reason for the record."),
    "later_repayment_exists": ErrorSpec(
        409, "A later repayment was split on what this one left: reverse that one first."
    ),
    "repayment_paid_out": ErrorSpec(
        409, "The funder's account no longer holds this repayment (paid out): nothing reversed."
    ),
    "month_invalid": ErrorSpec(
        422, "A month is written YYYY-MM, such as 2026-11 (years 2000 to 2999)."
    ),
    "eod_already_run": ErrorSpec(409, "That business day is already closed."),
    "eod_date_ahead": ErrorSpec(409, "That business day has not come yet: close the current one."),
    # funder systems over HTTP
    "funder_unavailable": ErrorSpec(
        502, "The funder's system did not answer in time, after retries."
    ),
    "funder_bad_response": ErrorSpec(502, "The funder's system answered with something invalid."),
    "funder_bad_signature": ErrorSpec(502, "The funder's answer failed its signature check."),
    # the HTTP API: requests
    "request_invalid": ErrorSpec(422, "The request does not match the API's schema."),
    "secret_key_unsafe": ErrorSpec(
        500,
        "Set YIRONG_SECRET_KEY to a random key of at least 32 characters before serving "
        "(the built-in one is in the source for all to see).",
    ),
    "service_role_needs_postgres": ErrorSpec(
        422, "A separate service role is a PostgreSQL setting; SQLite has no roles."
    ),
    "service_role_invalid": ErrorSpec(
        422, "A role name is lower-case letters, digits and underscores (at most 63)."
    ),
    "service_role_not_found": ErrorSpec(
        422,
        "No such PostgreSQL role: have the server's administrator create it "
        "(CREATE ROLE ... LOGIN) first.",
    ),
    "sealed_secret_unreadable": ErrorSpec(
        500,
        "A stored endpoint secret cannot be opened with this YIRONG_SECRET_KEY (the key "
        "changed since it was set): set the funder's endpoint again.",
    ),
    "schema_out_of_date": ErrorSpec(
        500,
        "The database schema is older than this version and the service may not migrate "
        "it: run `yirong db upgrade` as the tables' owner first.",
    ),
    "body_too_large": ErrorSpec(413, "The request body is larger than the API accepts."),
    "text_invalid": ErrorSpec(
        422,
        "Text may not hold control or format characters (NUL, line breaks, bidi overrides, "
        "zero-width marks); nothing was changed.",
    ),
    "content_type_unsupported": ErrorSpec(
        415, "Send the body as JSON (Content-Type: application/json)."
    ),
    "upload_invalid": ErrorSpec(
        422,
        "Send the file as the whole body, or as a multipart/form-data form with one file "
        "in its `file` field; nothing was changed.",
    ),
    "route_not_found": ErrorSpec(404, "No such route in the API."),
    "method_not_allowed": ErrorSpec(405, "This route does not take that method."),
    "cursor_invalid": ErrorSpec(422, "The page cursor is not one this API handed out."),
    "idempotency_key_required": ErrorSpec(
        428, "A request that moves money needs an Idempotency-Key header."
    ),
    "idempotency_key_reused": ErrorSpec(
        422, "This Idempotency-Key was used with a different request: nothing was done."
    ),
    "idempotency_request_in_flight": ErrorSpec(
        409, "The first request with this Idempotency-Key is still running: retry shortly."
    ),
    "internal_error": ErrorSpec(
        500, "Something went wrong on our side; it was logged. Nothing was half done."
    ),
    # the HTTP API: who may do what
    "unauthenticated": ErrorSpec(
        401, "Sign in first: send Authorization: Bearer <token or API key>."
    ),
    "token_invalid": ErrorSpec(401, "The token or API key is unknown, expired or revoked."),
    "access_denied": ErrorSpec(403, "Your role may not do this, or it is not yours."),
    "login_failed": ErrorSpec(401, "Wrong username or password."),
    "login_throttled": ErrorSpec(
        429,
        "Too many sign-in attempts for this account or from this address: wait the "
        "seconds in Retry-After, then try again (each wait is longer, up to five minutes).",
    ),
    "username_taken": ErrorSpec(409, "That username is taken."),
    "username_invalid": ErrorSpec(
        422, "A username is 3 to 64 letters, digits, dots, dashes or underscores."
    ),
    "password_too_weak": ErrorSpec(422, "A password has at least 12 characters."),
    "role_invalid": ErrorSpec(422, "A role is agent, funder or operator."),
    "role_without_sign_in": ErrorSpec(
        422, "A supplier has no sign-in and no console: its system calls with an API key."
    ),
    "subject_not_found": ErrorSpec(404, "No agent or funder with that code."),
    "api_key_not_found": ErrorSpec(404, "No such API key."),
    "api_key_revoked": ErrorSpec(409, "The API key was revoked: issue a new one instead."),
    "api_key_expired": ErrorSpec(
        401, "The API key has expired: the funder's staff issue a new one (or rotate it)."
    ),
    "api_key_days_invalid": ErrorSpec(422, "An API key works for 1 to 366 days."),
    "staff_session_required": ErrorSpec(
        403,
        "Only a person signed in (the funder's staff or an operator) may do this, not an API key.",
    ),
    "signature_missing": ErrorSpec(
        401,
        "A money-moving call made with an API key is signed: send X-Yirong-Timestamp, "
        "X-Yirong-Nonce and X-Yirong-Signature (docs/request-signing.md).",
    ),
    "signature_invalid": ErrorSpec(
        401,
        "The request's signature is malformed or does not match it: sign the method, "
        "the path and query as sent, the timestamp, the nonce and the body's SHA-256 "
        "with the key's signing secret.",
    ),
    "signature_expired": ErrorSpec(
        401, "The request's timestamp is more than five minutes from the platform's clock."
    ),
    "signature_replayed": ErrorSpec(
        401, "The request's nonce was used before: each signed request has a new one."
    ),
    # funders' requests
    "freeze_request_not_found": ErrorSpec(404, "No such freeze request."),
    "freeze_request_decided": ErrorSpec(409, "The freeze request was already decided."),
    "borrower_not_in_default": ErrorSpec(
        409, "The agent owes this funder no overdue debt: a contractual freeze needs a default."
    ),
    "events_url_invalid": ErrorSpec(
        422, "An events endpoint is an https URL to a public address (by name or plain IP)."
    ),
    # events for funders (the outbox)
    "event_not_found": ErrorSpec(404, "No such event."),
    "event_already_delivered": ErrorSpec(
        409, "The event was already delivered: the funder's system acknowledged it."
    ),
    "events_endpoint_missing": ErrorSpec(
        409, "The funder has no events endpoint: it reads its events with GET /api/v1/events."
    ),
    # order financing (订单融资)
    "supplier_not_found": ErrorSpec(404, "No such supplier."),
    "supplier_code_taken": ErrorSpec(409, "A supplier with this code is registered already."),
    "supplier_firm_taken": ErrorSpec(
        409, "A supplier with this unified social credit code is registered already."
    ),
    "supplier_invalid": ErrorSpec(422, "The supplier's details are incomplete or invalid."),
    "supplier_account_invalid": ErrorSpec(
        422, "A settlement account is 8 to 32 digits, at a named bank."
    ),
    "supplier_not_whitelisted": ErrorSpec(
        409, "The supplier is not on the whitelist: its orders cannot be financed."
    ),
    "order_not_found": ErrorSpec(404, "No such purchase order."),
    "order_taken": ErrorSpec(
        409, "This supplier's order number is on the platform already: an order is entered once."
    ),
    "invoice_taken": ErrorSpec(
        409, "This invoice number belongs to another order: an invoice is financed once."
    ),
    "order_invalid": ErrorSpec(422, "The purchase order is incomplete or invalid."),
    "order_not_open": ErrorSpec(409, "The purchase order was cancelled: nothing more applies."),
    "order_change_invalid": ErrorSpec(
        422, "A change is a cancellation, a short delivery or a return of a positive amount."
    ),
    "order_change_exceeds_order": ErrorSpec(
        422, "The changes would take more off the order than its value."
    ),
    "order_change_by_refund": ErrorSpec(
        409,
        "The supplier has been paid for this order: a change to it is recorded by the "
        "supplier's refund, through the reserve account.",
    ),
    "document_invalid": ErrorSpec(
        422, "A document is a contract, an invoice or a delivery receipt, of 1 byte to 10 MB."
    ),
    "delivery_receipt_missing": ErrorSpec(
        409, "The goods are delivered when their signed delivery receipt (签收单) is attached."
    ),
    "order_already_financed": ErrorSpec(
        409, "This order, or its invoice, is financed already: an order is financed once."
    ),
    "facility_not_active": ErrorSpec(
        409, "The agent has no active order facility (订单融资额度) to finance an order under."
    ),
    "advance_over_rate": ErrorSpec(
        422, "The advance is more than the product's advance rate of what remains of the order."
    ),
    "margin_insufficient": ErrorSpec(
        409, "The wallet does not hold the agent's part of the order and the margin."
    ),
    "financing_not_found": ErrorSpec(404, "No such order financing."),
    "financing_not_open": ErrorSpec(409, "The order financing is not at the step this applies to."),
    "payout_gate_failed": ErrorSpec(
        409, "The supplier cannot be paid yet: what is missing is listed."
    ),
    "refund_exceeds_paid": ErrorSpec(
        422, "The refund is larger than what was paid to the supplier for this order."
    ),
    # infrastructure
    "database_busy": ErrorSpec(503, "The database stayed busy; nothing was changed. Try again."),
}


class YirongError(Exception):
    """A refusal with a stable code; raising it means nothing was changed."""

    def __init__(self, code: str, message: str | None = None, /, **details: Any) -> None:
        spec = CATALOGUE.get(code)
        if spec is None:  # a programming error: every code must be catalogued
            raise KeyError(f"uncatalogued error code {code!r}")
        self.code = code
        self.status = spec.status
        self.message = message or spec.message
        self.details: Mapping[str, Any] = details
        # Work to run in a fresh transaction once the failed one has rolled back
        # (the ledger records a refusal there, so that a retry gets the same answer).
        self.after_rollback: Callable[[Any], object] | None = None
        super().__init__(f"{code}: {self.message}")

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}
