"""The console's languages: Chinese (zh-CN) by default, English on request. Every
string a page shows is a gettext message; the catalogues are the ``.po`` files under
``locale/`` (Babel reads and compiles them when the process starts: nothing binary
is kept in the repository). Money is yuan with thousands separators (¥12,345.67),
dates as people of each language write them."""

from __future__ import annotations

import gettext
from datetime import date
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.dates import format_date
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
