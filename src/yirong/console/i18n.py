"""The console's languages: Chinese (zh-CN) by default, English on request. Every
string a page shows is a gettext message; the catalogues are the ``.po`` files under
``locale/`` (Babel reads and compiles them when the process starts: nothing binary
is kept in the repository). Money is yuan with thousands separators (¥12,345.67),
dates as people of each language write them."""

from __future__ import annotations

import gettext
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from yirong.money import format_fen

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT = "zh_CN"
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


def N_(message: str) -> str:
    """Marks ``message`` for the catalogues where it is written; translated where shown."""
    return message


def language_of(value: str | None) -> str:
    """A language this console speaks (anything else: the default)."""
    return value if value in LANGUAGES else DEFAULT


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The language's catalogue, compiled from its ``.po`` file once per process."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def yuan(fen: int) -> str:
    """Fen as yuan for a page: ¥12,345.67 (-¥5.00 for a negative amount)."""
    return f"{'-' if fen < 0 else ''}¥{format_fen(abs(fen))}"


def day(value: date | None, language: str) -> str:
    """A date as people of ``language`` write it (2026年1月5日; Jan 5, 2026)."""
    if value is None:
        return "—"
    return format_date(value, format="medium" if language == "en" else "long", locale=language)


CHINA = timezone(timedelta(hours=8), "CST")  # no daylight saving: the offset is exact


def moment(value: datetime) -> str:
    """A recorded time as Beijing time, to the second (2026-01-05 09:30:00)."""
    return format_datetime(value, format="yyyy-MM-dd HH:mm:ss", tzinfo=CHINA, locale="en")


def month(value: date, language: str) -> str:
    """A month as people of ``language`` write it (2026年1月; Jan 2026)."""
    return format_date(
        value, format="yyyy年M月" if language == DEFAULT else "MMM yyyy", locale=language
    )


def rate(value: Decimal) -> str:
    """An annual rate as a percentage with two decimals (0.108 -> 10.80%)."""
    return f"{value * 100:.2f}%"


# What each method of repaying is called on a page.
METHODS = {
    "revolving": N_("Borrow and repay any day"),
    "bullet": N_("All at the end of the term"),
    "equal-installment": N_("Equal monthly instalments"),
    "equal-principal": N_("Equal monthly principal"),
    "interest-only": N_("Interest monthly, principal at the end"),
}
# What each pre-approval feature is, as the consent screen names it.
FEATURES = {
    "income_3m": N_("Commissions of the last 3 months"),
    "income_6m": N_("Commissions of the last 6 months"),
    "income_12m": N_("Commissions of the last 12 months"),
    "prepay_12m": N_("Pre-payments to the carrier, last 12 months"),
    "months_without_income": N_("Months without commissions"),
    "trend_ppm": N_("The trend of commissions"),
    "volatility_ppm": N_("How much commissions vary"),
    "tenure_months": N_("Months with the carrier"),
    "overdue_days": N_("Days overdue on earlier loans"),
}
# The firm's details an application sends, as the consent screen names them.
FIRM_FIELDS = {
    "name": N_("The firm's name"),
    "uscc": N_("Unified social credit code"),
    "legal_rep_name": N_("Legal representative's name"),
    "legal_rep_id": N_("Legal representative's ID card number"),
    "mobile": N_("Mobile number"),
    "bank_card": N_("Bank card number"),
    "features": N_("The figures of your business that pre-approval uses"),
}
APPLICATION_STATUSES = {
    "submitted": N_("Waiting for the funder"),
    "approved": N_("Approved"),
    "rejected": N_("Declined"),
    "withdrawn": N_("Withdrawn"),
}
REJECTIONS = {
    "insufficient_income": N_("Commissions too low for the amount"),
    "income_volatility": N_("Commissions vary too much"),
    "overdue_history": N_("Earlier loans were repaid late"),
    "identity_mismatch": N_("The identity could not be confirmed"),
    "policy": N_("The funder's policy"),
    "other": N_("Another reason"),
}
# Each reason a wallet may be frozen: why, and what lifts it.
FREEZES = {
    "overdue": (
        N_("A loan is overdue."),
        N_(
            "Money that comes in repays the overdue loan first; the wallet unfreezes by itself"
            " once nothing overdue is left. You may also repay now."
        ),
    ),
    "funder_request": (
        N_("Your funder asked for it under your loan contract."),
        N_("It is lifted when the funder withdraws its request; ask your funder."),
    ),
    "legal_order": (
        N_("A court or an authority ordered it."),
        N_("Only the order's end lifts it; the operator can tell you which order it is."),
    ),
    "risk": (
        N_("The platform's risk control is checking your account."),
        N_("The operator lifts it once the check is done; call the operator's desk."),
    ),
}
# The kinds of movement a wallet's page filters by (wallets.history.KINDS).
MOVEMENT_KINDS = {
    "commission": N_("Commissions"),
    "stock": N_("Paid for stock"),
    "loan": N_("Loans received"),
    "repayment": N_("Repayments"),
    "top_up": N_("Top-ups"),
    "withdrawal": N_("Withdrawals"),
    "transfer": N_("Transfers"),
}
# What each ledger entry a wallet shows is called.
ENTRY_CODES = {
    "wallet.commission": N_("Commission"),
    "wallet.carrier_prepayment": N_("Paid for stock"),
    "loan.drawdown": N_("Loan received"),
    "loan.repayment": N_("Repayment"),
    "loan.repayment_reversed": N_("Repayment reversed"),
    "wallet.top_up": N_("Top-up"),
    "wallet.withdrawal": N_("Withdrawal"),
    "wallet.withdrawal.confirm": N_("Withdrawal paid by the bank"),
    "wallet.withdrawal.fail": N_("Withdrawal refused by the bank"),
    "bank.payment_returned": N_("Returned by the bank"),
    "wallet.transfer": N_("Transfer"),
}
# A funder's freeze request, as it stands.
FREEZE_REQUEST_STATUSES = {
    "requested": N_("Waiting for an operator"),
    "applied": N_("Applied"),
    "declined": N_("Declined by the operator"),
}
# The end of day's steps, in order, as the dashboard names them.
EOD_STEPS = {
    "expire": N_("Expire orders no money came for"),
    "overdue": N_("Mark loans overdue, freeze and sweep"),
    "order_margins": N_("Release or apply order financing margins"),
    "accrue_and_snapshot": N_("Accrue interest and snapshot the book"),
    "payouts": N_("Pay funders out"),
    "payment_batches": N_("Write the bank's payment files"),
    "reconciliation": N_("Age what is waiting for money"),
    "reconcile": N_("Reconcile the day against the bank"),
    "funder_files": N_("Compare the funders' files"),
    "advance": N_("Open the next business day"),
}
# Why a bank line or a notice waits for a person.
EXCEPTION_KINDS = {
    "unknown": N_("Unknown sender or reference"),
    "short": N_("Less than expected"),
    "over": N_("More than expected"),
    "duplicate": N_("Paid twice"),
    "late": N_("For an order that is closed"),
    "proposed": N_("A match to confirm"),
    "unordered_debit": N_("Paid out without our order"),
    "notice_unfunded": N_("Said to be paid, not on the statement"),
    "payment_not_debited": N_("Our payment not on the statement"),
    "account_closed": N_("For a wallet that cannot take money"),
}
# Why a day's books and bank differ, item by item.
RECON_ITEMS = {
    "in_transit": N_("A payment on its way (timing)"),
    "missing_at_bank": N_("Instructed, not paid by the bank in time"),
    "missing_in_books": N_("The bank moved money our books do not hold"),
    "amount_differs": N_("An amount that differs"),
    "suspense": N_("Held in suspense: not known yet what it is for"),
    "statement_missing": N_("No statement yet for the day"),
    "statement_gap": N_("A statement does not open where the last one closed"),
    "unexplained": N_("A difference no item explains"),
}
# The operators' dated rules, and how each value is written.
SETTINGS = {
    "debt_priority": (
        N_("Which debts an agent's money repays first"),
        N_("oldest_first, line_first (the credit line's) or order_first (order financing's)."),
    ),
    "apr_cap": (
        N_("The legal cap on the APR, fees included"),
        N_("A fraction: 0.24 is 24%%."),
    ),
    "consent_text_version": (
        N_("The version of the consent text agents accept"),
        N_("A new version asks every agent to read and agree again."),
    ),
    "sample_drawdown_fen": (
        N_("The drawdown whose cost every offer shows"),
        N_("In fen: 1000000 is ¥10,000.00."),
    ),
    "preapproval_consent_days": (
        N_("How long an opt-in to pre-approval lasts"),
        N_("In days."),
    ),
    "recon_approval_threshold_fen": (
        N_("From what amount a hand match or return needs a second operator"),
        N_("In fen: 5000000 is ¥50,000.00."),
    ),
}
# A drawdown's state, as a funder's export names it.
LOAN_STATUSES = {
    "requested": N_("Asked for"),
    "credited": N_("Lent"),
    "overdue": N_("Overdue"),
    "repaid": N_("Repaid"),
    "expired": N_("Expired"),
    "rejected": N_("Declined"),
    "cancelled": N_("Cancelled"),
    "returned": N_("Returned"),
    "funded": N_("Money waiting with the funder"),
    "escrowed": N_("Money waiting in escrow for the supplier"),
}
# The daily files made for a funder, and how its own file may differ from ours.
FILE_KINDS = {
    "LOANS": N_("Loan book"),
    "REPAYMENTS": N_("Repayments"),
    "PAYOUTS": N_("Payouts"),
}
FILE_DIFFERENCES = {
    "missing_at_funder": N_("In our file, not in yours"),
    "missing_at_platform": N_("In your file, not in ours"),
    "amount_differs": N_("An amount differs"),
    "status_differs": N_("A field differs"),
}
# Order financing (订单融资): an order's state, a financing's, a document's kind, and
# what the payout gate may find missing (orders.model.missing).
ORDER_STATUSES = {
    "entered": N_("Waiting for the supplier's confirmation"),
    "confirmed": N_("Confirmed by the supplier"),
    "cancelled": N_("Cancelled"),
}
FINANCING_STATUSES = {
    "requested": N_("Waiting for the funder"),
    "approved": N_("Approved: waiting to pay the supplier"),
    "paying": N_("Paying the supplier"),
    "paid": N_("Supplier paid: the loan runs"),
    "settled": N_("Repaid, margin returned"),
    "defaulted": N_("Overdue: margin applied to the debt"),
    "rejected": N_("Declined by the funder"),
    "cancelled": N_("Cancelled"),
}
DOCUMENT_KINDS = {
    "contract": N_("Purchase contract"),
    "invoice": N_("Invoice"),
    "delivery_receipt": N_("Delivery receipt"),
}
PAYOUT_GATE = {
    "order_cancelled": N_("The order was cancelled."),
    "order_not_confirmed": N_("The supplier has not confirmed the order."),
    "document:contract": N_("The purchase contract is not attached."),
    "document:invoice": N_("The invoice is not attached."),
    "advance_over_rate": N_(
        "The advance is more than the advance rate of what remains of the order."
    ),
    "facility_not_active": N_("The agent's order facility is not active."),
    "margin_not_held": N_("The agent's part and margin are not held."),
    "supplier_account_unverified": N_("The supplier's settlement account is not verified."),
    "supplier_not_whitelisted": N_("The supplier is not on the whitelist."),
    "order_already_financed": N_("The order or its invoice is financed elsewhere."),
    "funder_money_not_arrived": N_("The funder's money has not arrived."),
    "agent_overdue": N_("The agent has a loan overdue."),
}
