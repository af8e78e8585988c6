"""Sending, counting and reading notifications; any area may notify anyone."""

from sqlalchemy import func, select, update

from crm.clock import utcnow
from crm.extensions import db
from crm.notifications.models import Notification, NotificationKind
from crm.sql import insert_or_ignore


def notify(user_id: int, kind: NotificationKind, *, dedupe_key: str, link: str | None = None,
           params: dict | None = None, customer_id: int | None = None,
           deal_id: int | None = None, review_id: int | None = None) -> bool:
    """Notify one person once per `dedupe_key`; True when this call created the row."""
    result = db.session.execute(insert_or_ignore(Notification, ["dedupe_key"]).values(
        user_id=user_id, kind=kind.value, dedupe_key=dedupe_key, link=link, params=params,
        customer_id=customer_id, deal_id=deal_id, review_id=review_id, created_at=utcnow())
        .returning(Notification.id))
    return result.first() is not None


def notify_from(rows, columns: list[str]) -> int:
    """Set-based: INSERT INTO notifications (columns) SELECT … skipping known dedupe keys.

    `rows` is a select whose result columns match `columns` (which must include user_id,
    kind, dedupe_key and created_at). One statement, whatever the number of rows; returns
    how many it created.
    """
    statement = (insert_or_ignore(Notification, ["dedupe_key"]).from_select(columns, rows)
                 .returning(Notification.id))
    return len(db.session.execute(statement).all())


def unread_count_column(user_id_column):
    """The unread count as a column, for the query that loads the signed-in user."""
    return (select(func.count()).select_from(Notification)
            .where(Notification.user_id == user_id_column, Notification.read_at.is_(None))
            .scalar_subquery())


def unread_count(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def unread(user_id: int, limit: int = 20, kinds=None) -> list[Notification]:
    """The user's unread notifications, newest first; only of `kinds` when given."""
    query = select(Notification).where(Notification.user_id == user_id,
                                       Notification.read_at.is_(None))
    if kinds is not None:
        query = query.where(Notification.kind.in_([str(k) for k in kinds]))
    return list(db.session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def mark_read(user, *, review_id: int) -> None:
    """Opening what a notification points at reads it (and this page's count drops)."""
    result = db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.review_id == review_id,
        Notification.read_at.is_(None)).values(read_at=utcnow()))
    if result.rowcount and getattr(user, "unread_notifications", None) is not None:
        user.unread_notifications = max(0, user.unread_notifications - result.rowcount)
