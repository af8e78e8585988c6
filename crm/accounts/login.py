"""Checking a sign-in: slow down after a few failures, then lock the account for a while."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from crm.accounts.models import User
from crm.clock import utcnow
from crm.extensions import db

@cache
def _dummy_hash() -> str:
    """Checked against when the e-mail is unknown, so both cases take the same time."""
    return generate_password_hash(secrets.token_hex(8))


@dataclass
class LoginRefused(Exception):
    message: str
    retry_after: int | None = None  # seconds


def slowdown_delay(failures: int) -> timedelta:
    """Wait required before the next try: 5 s at the first slowed try, doubling after."""
    over = failures - current_app.config["LOGIN_SLOWDOWN_AFTER"]
    return timedelta(seconds=5 * 2**over) if over >= 0 else timedelta(0)


def _record_failure(user: User, now: datetime) -> int:
    failures = user.failed_logins + 1
    lock = {}
    if failures >= current_app.config["LOGIN_LOCKOUT_AFTER"]:
        lock["locked_until"] = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
    # A Core update with an increment: parallel guesses cannot lose a count, and the
    # user's edit version is untouched.
    db.session.execute(
        update(User).where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1, last_failed_login_at=now, **lock)
    )
    db.session.commit()
    return failures


def _minutes(seconds: float) -> int:
    return max(1, int((seconds + 59) // 60))


def authenticate(email: str, password: str) -> User:
    """Return the user for these credentials or raise LoginRefused with a message to show."""
    now = utcnow()
    user = db.session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        check_password_hash(_dummy_hash(), password)
        raise LoginRefused(_("Wrong e-mail or password."))

    if user.locked_until and user.locked_until > now:
        wait = (user.locked_until - now).total_seconds()
        raise LoginRefused(
            _("Too many failed sign-ins. This account is locked; try again in %(minutes)d minutes.",
              minutes=_minutes(wait)),
            retry_after=int(wait),
        )
    if user.last_failed_login_at is not None:
        ready_at = user.last_failed_login_at + slowdown_delay(user.failed_logins)
        if ready_at > now:
            wait = int((ready_at - now).total_seconds()) + 1
            raise LoginRefused(
                _("Too many failed sign-ins. Wait %(seconds)d seconds before trying again.",
                  seconds=wait),
                retry_after=wait,
            )

    if not check_password_hash(user.password_hash, password):
        failures = _record_failure(user, now)
        if failures >= current_app.config["LOGIN_LOCKOUT_AFTER"]:
            raise LoginRefused(
                _("Too many failed sign-ins. This account is locked; try again in %(minutes)d minutes.",
                  minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"]),
                retry_after=current_app.config["LOGIN_LOCKOUT_MINUTES"] * 60,
            )
        if failures >= current_app.config["LOGIN_SLOWDOWN_AFTER"]:
            raise LoginRefused(
                _("Wrong e-mail or password. Wait %(seconds)d seconds before trying again.",
                  seconds=int(slowdown_delay(failures).total_seconds())),
            )
        raise LoginRefused(_("Wrong e-mail or password."))

    if not user.active:
        raise LoginRefused(_("This account has been deactivated. Ask your administrator."))

    db.session.execute(
        update(User).where(User.id == user.id)
        .values(failed_logins=0, last_failed_login_at=None, locked_until=None, last_login_at=now)
    )
    db.session.commit()
    # The Core update bypassed the identity map; refresh so the object matches the row.
    db.session.refresh(user)
    return user
