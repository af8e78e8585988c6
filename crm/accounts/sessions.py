"""Server-side sessions: a row per signed-in browser, so ending one is real."""

from datetime import timedelta

from flask import current_app, request
from sqlalchemy import delete, select, update

from crm.accounts.models import User, UserSession
from crm.clock import utcnow
from crm.extensions import db
from crm.notifications.inbox import unread_count_column

REMEMBER_DAYS = 30
TOUCH_EVERY = timedelta(minutes=5)


def _lifetime(remember: bool) -> timedelta:
    if remember:
        return timedelta(days=REMEMBER_DAYS)
    return timedelta(days=current_app.config["SESSION_IDLE_DAYS"])


def absolute_lifetime() -> timedelta:
    """However active, a session ends this long after sign-in (SESSION_MAX_HOURS)."""
    return timedelta(hours=current_app.config["SESSION_MAX_HOURS"])


def _expiry(created_at, now, remember: bool):
    """The idle expiry, moved on by use, never past the absolute end."""
    return min(now + _lifetime(remember), created_at + absolute_lifetime())


def start_session(user: User, remember: bool) -> UserSession:
    """Create the session row for this browser and bind its token to the user object."""
    now = utcnow()
    row = UserSession(
        token=UserSession.new_token(),
        user_id=user.id,
        remember=remember,
        user_agent=(request.user_agent.string or "")[:200] if request else None,
        created_at=now,
        last_seen_at=now,
        expires_at=_expiry(now, now, remember),
    )
    db.session.add(row)
    user.session_token = row.token
    return row


def load_session_user(token: str) -> User | None:
    """The user behind a live session token, in one query; touches the row now and then
    (`user.session_touched` says so: the request commits that touch).

    The same query counts the user's unread notifications, which every page's navigation
    shows, so that count costs no query of its own.
    """
    now = utcnow()
    row = db.session.execute(
        select(UserSession, User, unread_count_column(User.id))
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token == token, UserSession.expires_at > now,
               UserSession.created_at > now - absolute_lifetime(), User.active.is_(True))
    ).first()
    if row is None:
        return None
    user_session, user, unread = row
    user.unread_notifications = unread
    user.session_touched = False
    if now - user_session.last_seen_at > TOUCH_EVERY:
        # A Core update: the session's sliding expiry is not an edit of the user.
        db.session.execute(
            update(UserSession)
            .where(UserSession.token == token)
            .values(last_seen_at=now,
                    expires_at=_expiry(user_session.created_at, now, user_session.remember))
        )
        user.session_touched = True
    user.session_token = token
    return user


def end_session(token: str | None) -> None:
    if token:
        db.session.execute(delete(UserSession).where(UserSession.token == token))


def end_all_sessions(user_id: int) -> None:
    """Sign the user out everywhere: every copied cookie stops working."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user_id))


def prune_expired_sessions() -> int:
    """Delete sessions past their expiry; returns how many went."""
    now = utcnow()
    result = db.session.execute(delete(UserSession).where(
        (UserSession.expires_at <= now) | (UserSession.created_at <= now - absolute_lifetime())))
    return result.rowcount or 0
