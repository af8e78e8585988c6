"""Notifications: a row per person per event, counted in the navigation until read.

Every row has a dedupe key unique in the table (kind, subject, recipient and the local date
or episode), so a sweep that runs twice, or two workers at once, notifies once.
"""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.clock import utcnow
from crm.columns import UTCDateTime, enum_column
from crm.extensions import db


class NotificationKind(enum.StrEnum):
    """Values are at most 20 characters (the column's length). Areas add their kinds here."""

    REVIEW_FINISHED = "review_finished"
    REVIEW_REPLY = "review_reply"
    REVIEW_ACKNOWLEDGED = "review_acknowledged"
    LEAD_UNROUTED = "lead_unrouted"
    REPORT_READY = "report_ready"
    # Reminders (crm.reminders.sweeps): due, then overdue, then escalated to a manager.
    FOLLOWUP_DUE = "followup_due"
    FOLLOWUP_OVERDUE = "followup_overdue"
    FOLLOWUP_ESCALATED = "followup_escalated"
    REVISIT_DUE = "revisit_due"
    REVISIT_OVERDUE = "revisit_overdue"
    REVISIT_ESCALATED = "revisit_escalated"
    BIRTHDAY = "birthday"
    PROTECTION_ENDING = "protection_ending"
    POOL_RETURNED = "pool_returned"
    REVIEWS_WAITING = "reviews_waiting"
    RECHECK_DUE = "recheck_due"
    A_DROUGHT = "a_drought"
    TASK_ASSIGNED = "task_assigned"
    TASK_DUE = "task_due"
    TASK_OVERDUE = "task_overdue"
    TASK_ESCALATED = "task_escalated"
    FEEDBACK_ASSIGNED = "feedback_assigned"
    FEEDBACK_OVERDUE = "feedback_overdue"


NOTIFICATION_LABELS = {
    NotificationKind.REVIEW_FINISHED: _l("New review of your recording"),
    NotificationKind.REVIEW_REPLY: _l("Reply to your review comment"),
    NotificationKind.REVIEW_ACKNOWLEDGED: _l("Review acknowledged"),
    NotificationKind.LEAD_UNROUTED: _l("A new lead found no rep and waits in the pool"),
    NotificationKind.REPORT_READY: _l("A team report is ready"),
    NotificationKind.FOLLOWUP_DUE: _l("Follow-up due"),
    NotificationKind.FOLLOWUP_OVERDUE: _l("Follow-up overdue"),
    NotificationKind.FOLLOWUP_ESCALATED: _l("Team follow-up overdue"),
    NotificationKind.REVISIT_DUE: _l("After-sales revisit due"),
    NotificationKind.REVISIT_OVERDUE: _l("After-sales revisit overdue"),
    NotificationKind.REVISIT_ESCALATED: _l("Team revisit overdue"),
    NotificationKind.BIRTHDAY: _l("Birthday coming"),
    NotificationKind.PROTECTION_ENDING: _l("Protection ending"),
    NotificationKind.POOL_RETURNED: _l("Back to the public pool"),
    NotificationKind.REVIEWS_WAITING: _l("Recordings waiting for review"),
    NotificationKind.RECHECK_DUE: _l("Re-check due"),
    NotificationKind.A_DROUGHT: _l("No new A deal"),
    NotificationKind.TASK_ASSIGNED: _l("Task assigned to you"),
    NotificationKind.TASK_DUE: _l("Task due"),
    NotificationKind.TASK_OVERDUE: _l("Task overdue"),
    NotificationKind.TASK_ESCALATED: _l("Team task overdue"),
    NotificationKind.FEEDBACK_ASSIGNED: _l("Customer feedback for you to handle"),
    NotificationKind.FEEDBACK_OVERDUE: _l("Customer feedback past its deadline"),
}


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(
        enum_column(NotificationKind, name="notification_kind"))
    # "<kind>:<subject>:<recipient>:<local date or episode>"; unique, so inserts are idempotent.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True, index=True)
    # Where the notification leads (a path inside the app) and what its text needs.
    link: Mapped[str | None] = mapped_column(String(300))
    params: Mapped[dict | None] = mapped_column(JSON)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    deal_id: Mapped[int | None] = mapped_column(
        ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    review_id: Mapped[int | None] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    review = relationship("Review")
