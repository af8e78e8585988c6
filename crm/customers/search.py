"""Search as reps type it: Chinese substrings, pinyin and initials (zs finds 张三), any part
of a phone number, tags. Each customer keeps one lower-cased search text."""

import re

from pypinyin import Style, lazy_pinyin
from sqlalchemy import Select

from crm.customers.models import Customer

SEPARATOR = " | "
_NON_DIGITS = re.compile(r"\D+")
_PHONE_TYPED = re.compile(r"\+?[\d\s()-]{3,}")


def _name_forms(text: str | None) -> list[str]:
    if not text:
        return []
    lowered = text.strip().lower()
    syllables = lazy_pinyin(lowered)
    initials = lazy_pinyin(lowered, style=Style.FIRST_LETTER)
    return [lowered, "".join(syllables).replace(" ", ""), "".join(initials).replace(" ", "")]


def _phone_forms(normalised: str | None) -> list[str]:
    if not normalised:
        return []
    digits = _NON_DIGITS.sub("", normalised)
    national = digits[2:] if normalised.startswith("+86") else digits
    return [digits, national]


def build_search_text(customer: Customer) -> str:
    forms = _name_forms(customer.name) + _name_forms(customer.organisation)
    forms += _phone_forms(customer.phone_normalized)
    for contact in customer.contacts:
        forms += _name_forms(contact.name) + _phone_forms(contact.phone_normalized)
    forms += [tag.name.lower() for tag in customer.tags]
    if customer.wechat:
        forms.append(customer.wechat.lower())
    unique = list(dict.fromkeys(f for f in forms if f))
    return SEPARATOR.join(unique)


def refresh_search_text(customer: Customer) -> None:
    customer.search_text = build_search_text(customer)


def apply_search(query: Select, text: str | None) -> Select:
    """Narrow a customer query to what `text` finds; a blank search finds everything."""
    needle = (text or "").strip().lower()
    if not needle:
        return query
    # "138 0013-8000" is a phone number typed with separators: search its digits.
    if _PHONE_TYPED.fullmatch(needle):
        needle = _NON_DIGITS.sub("", needle)
    return query.where(Customer.search_text.contains(needle, autoescape=True))
