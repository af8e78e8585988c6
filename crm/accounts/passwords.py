"""The password rule, written once: what any new password must be (the user's own, one an
admin sets, one from the CLI), and the temporary passwords an admin hands out."""

import secrets

from flask_babel import lazy_gettext as _l

from crm.errors import DomainError

MIN_LENGTH = 8
# Read off a screen or over the phone: no l, I, 1, O or 0 to take for one another.
TEMPORARY_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TEMPORARY_GROUPS = 3  # of four characters, joined by dashes: "Kq7m-Pw3r-Tz9a"
TEMPORARY_GROUP_LENGTH = 4


def check_password_policy(password: str | None) -> None:
    """Refuse a password that breaks the rule; forms and account functions both ask here."""
    if len(password or "") < MIN_LENGTH:
        raise DomainError(_l("A password needs at least %(n)d characters.", n=MIN_LENGTH),
                          field="password")


def temporary_password() -> str:
    """A random password to give someone once, easy to read and type, meeting the rule."""
    password = "-".join(
        "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(TEMPORARY_GROUP_LENGTH))
        for _ in range(TEMPORARY_GROUPS))
    check_password_policy(password)
    return password
