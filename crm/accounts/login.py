"""Checking a sign-in without telling strangers which e-mails have accounts, and throttling
guesses without giving anyone a lock they can keep a colleague out with.

- Known and unknown e-mails get the same answer (status and message), after the same work:
  one password hash check (a stored dummy hash for an unknown e-mail) and one audit row.
- Failures are counted in Redis per client address and per e-mail-and-address pair, in a
  fixed window. Past either limit that address (or that address for that e-mail) waits until
  the window ends; the account itself is never locked, so guesses from elsewhere cannot shut
  its owner out of their own phone. What is counted depends only on the e-mail typed, never on
  whether it exists, so a refusal tells nothing either.
"""

import hashlib
import logging
from dataclasses import dataclass

from flask import current_app, request
from flask_babel import gettext as _
from redis.exceptions import RedisError
from sqlalchemy import select, update
from werkzeug.security import check_password_hash

from crm.accounts.models import User
from crm.audit.log import record
from crm.audit.models import AuditAction
from crm.clock import utcnow
from crm.extensions import db
from crm.queue import get_redis

log = logging.getLogger(__name__)

# The hash of a random password nobody knows, made with Werkzeug's default method (scrypt):
# an unknown e-mail is checked against it, so it costs what a known one costs.
DUMMY_HASH = ("scrypt:32768:8:1$GtA5uNahbccsnXuz$d033e67e15e08b3f64cf17056469dad554c143615f6b"
              "ad3c8c7d801095b59548a3b49ea17fe8bae1384578c3f21829cd99fd80f3f850a19040bf9794a75e"
              "950c")


@dataclass
class LoginRefused(Exception):
    message: str
    retry_after: int | None = None  # seconds


def client_address() -> str:
    return request.remote_addr or "unknown"


def _keys(email: str, address: str) -> tuple[str, str]:
    # The e-mail is hashed: Redis keys are listed by tools, and this one is personal data.
    digest = hashlib.sha256(email.encode()).hexdigest()[:32]
    return f"crm:login:address:{address}", f"crm:login:pair:{digest}:{address}"


def _limits() -> tuple[int, int]:
    config = current_app.config
    return config["LOGIN_ADDRESS_LIMIT"], config["LOGIN_PAIR_LIMIT"]


def _throttled(email: str, address: str) -> int | None:
    """Seconds until this address may try this e-mail again, or None when it may now."""
    address_key, pair_key = _keys(email, address)
    address_limit, pair_limit = _limits()
    try:
        redis = get_redis()
        address_count, pair_count = redis.mget(address_key, pair_key)
        waits = []
        if int(address_count or 0) >= address_limit:
            waits.append(redis.ttl(address_key))
        if int(pair_count or 0) >= pair_limit:
            waits.append(redis.ttl(pair_key))
    except RedisError:
        # Without Redis the password check still stands; sign-in must not stop with it.
        log.warning("login throttle unavailable (Redis)")
        return None
    return max(max(waits), 1) if waits else None


def _count_failure(email: str, address: str) -> None:
    window = current_app.config["LOGIN_WINDOW_MINUTES"] * 60
    try:
        pipe = get_redis().pipeline()
        for key in _keys(email, address):
            pipe.set(key, 0, ex=window, nx=True)  # the window starts at the first failure
            pipe.incr(key)
        pipe.execute()
    except RedisError:
        log.warning("login throttle unavailable (Redis)")


def _forget_failures(email: str, address: str) -> None:
    """A correct password clears its pair's count (not the address's: a guesser who also
    holds one account must not reset their budget by signing into it)."""
    try:
        get_redis().delete(_keys(email, address)[1])
    except RedisError:
        pass


def _throttled_refusal(seconds: int) -> LoginRefused:
    minutes = max(1, (seconds + 59) // 60)
    return LoginRefused(_("Too many failed sign-ins from this device. Try again in "
                          "%(minutes)d minutes.", minutes=minutes), retry_after=seconds)


def authenticate(email: str, password: str) -> User:
    """Return the user for these credentials or raise LoginRefused with a message to show.
    A refusal wrote an audit row: the caller commits in both cases."""
    email = email.strip().lower()
    address = client_address()
    wait = _throttled(email, address)
    if wait is not None:
        raise _throttled_refusal(wait)

    user = db.session.scalars(select(User).where(User.email == email)).first()
    correct = check_password_hash(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not correct:
        _count_failure(email, address)
        record(AuditAction.SIGN_IN_FAILED, user.id if user else None, address=address)
        raise LoginRefused(_("Wrong e-mail or password."))

    _forget_failures(email, address)
    if not user.active:
        raise LoginRefused(_("This account has been deactivated. Ask your administrator."))
    now = utcnow()
    db.session.execute(
        update(User).where(User.id == user.id)
        .values(failed_logins=0, last_failed_login_at=None, locked_until=None, last_login_at=now)
    )
    # The Core update bypassed the identity map; refresh so the object matches the row.
    db.session.refresh(user)
    return user
