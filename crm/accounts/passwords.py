"""The password rule, written once: what any new password must be (the user's own, one an
admin sets, one from the CLI), and the temporary passwords an admin hands out."""

import re
import secrets

from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash
from zxcvbn import zxcvbn

from crm.errors import DomainError

MIN_LENGTH = 10
# zxcvbn's scores run 0–4; below 2 a password falls to an online guesser within its
# dictionaries of common passwords, names, words, keyboard walks, dates and repeats.
MIN_STRENGTH = 2
# Common in China and scored as "not bad" by an estimator that learnt English lists.
COMMON_CHINESE = frozenset({
    "woaini1314", "woaini520", "5201314520", "1314520520", "a5201314", "aini1314520",
    "woaini123456", "qq123456789", "a123456789", "1qaz2wsx3edc", "zxcvbnm123",
    "abc123456789", "iloveyou1314", "wangyang123", "zhangwei123", "88888888a",
})
ZXCVBN_MAX_INPUT = 100  # its running time grows with the length; the rest adds only strength
# Read off a screen or over the phone: no l, I, 1, O or 0 to take for one another.
TEMPORARY_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TEMPORARY_GROUPS = 3  # of four characters, joined by dashes: "Kq7m-Pw3r-Tz9a"
TEMPORARY_GROUP_LENGTH = 4


def _personal_parts(email: str | None, name: str | None) -> list[str]:
    """The e-mail, its name part, and the person's name and its words: none may be in it."""
    parts = []
    if email:
        email = email.strip().lower()
        parts += [email, email.split("@")[0]]
    if name:
        name = name.strip().lower()
        parts += [name, *re.split(r"[\s.\-_]+", name)]
    return [part for part in parts if len(part) >= 3]


def check_password_policy(password: str | None, *, email: str | None = None,
                          name: str | None = None, current_hash: str | None = None) -> None:
    """Refuse a password that breaks the rule; forms and account functions both ask here.

    Forms know only the password (length, common); the account functions add the person's
    e-mail and name and the current password's hash."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        raise DomainError(_l("A password needs at least %(n)d characters.", n=MIN_LENGTH),
                          field="password")
    lowered = password.lower()
    if any(part in lowered for part in _personal_parts(email, name)):
        raise DomainError(_l("A password must not contain your e-mail address or your name."),
                          field="password")
    personal = _personal_parts(email, name)
    if lowered in COMMON_CHINESE or zxcvbn(
            password[:ZXCVBN_MAX_INPUT], user_inputs=personal)["score"] < MIN_STRENGTH:
        raise DomainError(_l("This password is too common or too easy to guess. Use a few "
                             "unrelated words or a longer mix of characters."),
                          field="password")
    if current_hash and check_password_hash(current_hash, password):
        raise DomainError(_l("The new password must differ from the current one."),
                          field="password")


def temporary_password() -> str:
    """A random password to give someone once, easy to read and type, meeting the rule."""
    password = "-".join(
        "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(TEMPORARY_GROUP_LENGTH))
        for _ in range(TEMPORARY_GROUPS))
    check_password_policy(password)
    return password
