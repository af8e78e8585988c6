"""Notifications: a row per person per event, counted in the navigation until read."""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.clock import utcnow
from crm.columns import UTCDateTime, enum_column
from crm.extensions import db


class NotificationKind(enum.StrEnum):
    REVIEW_FINISHED = "review_finished"
    REVIEW_REPLY = "review_reply"
    REVIEW_ACKNOWLEDGED = "review_acknowledged"


NOTIFICATION_LABELS = {
    NotificationKind.REVIEW_FINISHED: _l("New review of your recording"),
    NotificationKind.REVIEW_REPLY: _l("Reply to your review comment"),
    NotificationKind.REVIEW_ACKNOWLEDGED: _l("Review acknowledged"),
}


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(
        enum_column(NotificationKind, name="notification_kind"))
    review_id: Mapped[int | None] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    review = relationship("Review")
