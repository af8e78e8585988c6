"""Sending, counting and reading notifications; any area may notify anyone."""

from sqlalchemy import func, select, update

from crm.clock import utcnow
from crm.extensions import db
from crm.notifications.models import Notification, NotificationKind


def notify(user_id: int, kind: NotificationKind, *, review_id: int | None = None) -> None:
    db.session.add(Notification(user_id=user_id, kind=kind, review_id=review_id))


def unread_count_column(user_id_column):
    """The unread count as a column, for the query that loads the signed-in user."""
    return (select(func.count()).select_from(Notification)
            .where(Notification.user_id == user_id_column, Notification.read_at.is_(None))
            .scalar_subquery())


def unread_count(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def unread(user_id: int, limit: int = 20) -> list[Notification]:
    return list(db.session.scalars(
        select(Notification).where(Notification.user_id == user_id,
                                   Notification.read_at.is_(None))
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def mark_read(user, *, review_id: int) -> None:
    """Opening what a notification points at reads it (and this page's count drops)."""
    result = db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.review_id == review_id,
        Notification.read_at.is_(None)).values(read_at=utcnow()))
    if result.rowcount and getattr(user, "unread_notifications", None) is not None:
        user.unread_notifications = max(0, user.unread_notifications - result.rowcount)
