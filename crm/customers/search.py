"""Search as reps type it: Chinese substrings, pinyin and initials (zs finds 张三), any part
of a phone number, tags. Each customer keeps one lower-cased search text."""

import re
import sqlite3

from pypinyin import Style, lazy_pinyin
from sqlalchemy import Select, column, select, table

from crm.customers.models import Customer
from crm.customers.phones import without_extension
from crm.extensions import db

SEPARATOR = " | "
# The search indexes of migration 0017_scale live outside the models: pg_trgm GIN indexes on
# PostgreSQL, an FTS5 trigram table (and its shadow tables) on SQLite.
FTS_TABLE = "customers_fts"
TRIGRAM_INDEXES = ("ix_customers_search_text_trgm", "ix_customers_search_contact_trgm")


def in_the_models(name, type_, _parent_names) -> bool:
    """Alembic's include_name: False for the search indexes the models do not declare."""
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    return not (type_ == "index" and name in TRIGRAM_INDEXES)
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
    normalised = without_extension(normalised)  # "…;ext=8": the 8 is not part of the number
    digits = _NON_DIGITS.sub("", normalised)
    national = digits[2:] if normalised.startswith("+86") else digits
    return [digits, national]


def _joined(forms: list[str]) -> str:
    return SEPARATOR.join(dict.fromkeys(f for f in forms if f))


def build_search_text(customer: Customer) -> str:
    forms = _name_forms(customer.name) + _name_forms(customer.organisation)
    for contact in customer.contacts:
        forms += _name_forms(contact.name)
    forms += [tag.name.lower() for tag in customer.tags]
    return _joined(forms)


def build_search_contact(customer: Customer) -> str:
    forms = _phone_forms(customer.phone_normalized)
    for contact in customer.contacts:
        forms += _phone_forms(contact.phone_normalized)
    if customer.wechat:
        forms.append(customer.wechat.lower())
    return _joined(forms)


def refresh_search_text(customer: Customer) -> None:
    customer.search_text = build_search_text(customer)
    customer.search_contact = build_search_contact(customer)


def apply_search(query: Select, text: str | None, *, contact_details_in_pool: bool) -> Select:
    """Narrow a customer query to what `text` finds; a blank search finds everything.

    Phone digits and WeChat match only customers whose details the user may see: a pool
    customer's number must not be guessable digit by digit through the search box.
    """
    needle = (text or "").strip().lower()
    if not needle:
        return query
    # "138 0013-8000" is a phone number typed with separators: search its digits.
    if _PHONE_TYPED.fullmatch(needle):
        needle = _NON_DIGITS.sub("", needle)
    text_match, contact_match = _matchers(needle)
    by_contact = contact_match
    if not contact_details_in_pool:
        by_contact = by_contact & Customer.owner_id.is_not(None)
    return query.where(text_match | by_contact)


_FTS = table(FTS_TABLE, column("rowid"), column("search_text"), column("search_contact"))
_LIKE_SPECIAL = re.compile(r"[%_\\]")


def _matchers(needle: str):
    """Substring matches on both search columns. On SQLite a needle of three characters or
    more goes through the FTS5 trigram table (its LIKE reads the index); PostgreSQL's
    pg_trgm GIN indexes serve the plain LIKE. Shorter needles scan."""
    if (db.engine.dialect.name == "sqlite" and sqlite_has_trigram() and len(needle) >= 3
            and not _LIKE_SPECIAL.search(needle)):
        pattern = f"%{needle}%"
        return (Customer.id.in_(select(_FTS.c.rowid).where(_FTS.c.search_text.like(pattern))),
                Customer.id.in_(select(_FTS.c.rowid)
                                .where(_FTS.c.search_contact.like(pattern))))
    return (Customer.search_text.contains(needle, autoescape=True),
            Customer.search_contact.contains(needle, autoescape=True))


def sqlite_has_trigram() -> bool:
    """Migration 0017_scale made the FTS5 trigram table wherever SQLite has the tokenizer."""
    return sqlite3.sqlite_version_info >= (3, 34, 0)
