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
    """Wait required before the next try: 5 s at the first slowed try, doubling after,
    never longer than a lock-out (so guessing cannot shut a rep out for days)."""
    over = failures - current_app.config["LOGIN_SLOWDOWN_AFTER"]
    if over < 0:
        return timedelta(0)
    cap = timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
    return min(timedelta(seconds=5 * 2 ** min(over, 20)), cap)


def _record_failure(user: User, now: datetime) -> int:
    """Count one failure atomically and lock the account when the count reaches the limit.

    The increment happens in the database (RETURNING the new count), so parallel guesses
    neither lose a count nor skip the limit. Core updates leave the user's edit version alone.
    """
    failures = db.session.execute(
        update(User).where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1, last_failed_login_at=now)
        .returning(User.failed_logins)
    ).scalar_one()
    if failures >= current_app.config["LOGIN_LOCKOUT_AFTER"]:
        # The lock replaces the count: after it ends the user starts afresh.
        db.session.execute(
            update(User).where(User.id == user.id)
            .values(failed_logins=0, last_failed_login_at=None,
                    locked_until=now + timedelta(
                        minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])))
    return failures


def _locked(seconds: float) -> LoginRefused:
    minutes = max(1, int((seconds + 59) // 60))
    message = _("Too many failed sign-ins. This account is locked; "
                "try again in %(minutes)d minutes.", minutes=minutes)
    return LoginRefused(message, retry_after=int(seconds))


def authenticate(email: str, password: str) -> User:
    """Return the user for these credentials or raise LoginRefused with a message to show.
    A refusal may have counted a failure: the caller commits in both cases."""
    now = utcnow()
    user = db.session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        check_password_hash(_dummy_hash(), password)
        raise LoginRefused(_("Wrong e-mail or password."))

    if user.locked_until and user.locked_until > now:
        raise _locked((user.locked_until - now).total_seconds())
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
            raise _locked(current_app.config["LOGIN_LOCKOUT_MINUTES"] * 60)
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
    # The Core update bypassed the identity map; refresh so the object matches the row.
    db.session.refresh(user)
    return user
