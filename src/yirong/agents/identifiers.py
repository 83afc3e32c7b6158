"""Chinese identifiers, validated with maintained libraries (python-stdnum,
phonenumbers), never by hand-written checksums."""

from __future__ import annotations

from datetime import date

import phonenumbers
from stdnum import luhn
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from yirong.errors import YirongError

ADULT_AGE = 18


def unified_social_credit_code(value: str) -> str:
    """统一社会信用代码 (GB 32100-2015), normalised (upper case, no spaces)."""
    try:
        return str(uscc.validate(value))
    except ValidationError as exc:
        raise YirongError("uscc_invalid", reason=str(exc)) from exc


def resident_id(value: str, *, on: date) -> str:
    """居民身份证号 (GB 11643-1999) of an adult on the given business date."""
    compact = ric.compact(value)
    if len(compact) != 18:  # the old 15-digit numbers carry no check digit
        raise YirongError("resident_id_invalid", reason="A resident ID has 18 characters.")
    try:
        valid = str(ric.validate(compact))
    except ValidationError as exc:
        raise YirongError("resident_id_invalid", reason=str(exc)) from exc
    born = ric.get_birth_date(valid)
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    if age < ADULT_AGE:
        raise YirongError("legal_representative_under_18", age=age)
    return valid


def mainland_mobile(value: str) -> str:
    """A mainland China mobile number, as E.164 (+8613800138000)."""
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException as exc:
        raise YirongError("mobile_invalid", reason=str(exc)) from exc
    if (
        number.country_code != 86
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        raise YirongError("mobile_invalid", reason="Not a mainland China mobile number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def bank_card(value: str) -> str:
    """A settlement bank card: 16 to 19 digits passing the Luhn check."""
    digits = "".join(value.split())
    if not digits.isdigit() or not 16 <= len(digits) <= 19:
        raise YirongError("bank_card_invalid", reason="A bank card has 16 to 19 digits.")
    if not luhn.is_valid(digits):
        raise YirongError("bank_card_invalid", reason="The card number's check digit is wrong.")
    return digits
