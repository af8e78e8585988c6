"""Tasks (reminders people set or assign), deliveries (one e-mail or chat message each) and
each user's reminder preferences."""

import enum
from datetime import date, datetime, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.clock import utcnow
from crm.columns import UTCDateTime, enum_column
from crm.extensions import db


class Task(db.Model):
    """A reminder a user sets for themselves, or a manager assigns to someone they lead, on a
    customer or a deal, due on a day (and optionally at a time of that day)."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_assignee_open_due", "assignee_id", "done_at", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"),
                                                index=True)
    # The assignee's calendar day; the time (their wall clock) is optional.
    due_on: Mapped[date] = mapped_column(Date, index=True)
    due_time: Mapped[time | None] = mapped_column(Time)
    snoozed_times: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    assignee = relationship("User", foreign_keys=[assignee_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    customer = relationship("Customer")
    deal = relationship("Deal")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class Channel(enum.StrEnum):
    EMAIL = "email"
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    FEISHU = "feishu"


CHAT_CHANNELS = (Channel.WECOM, Channel.DINGTALK, Channel.FEISHU)
CHANNEL_LABELS = {Channel.EMAIL: _l("E-mail"), Channel.WECOM: _l("WeCom (企业微信)"),
                  Channel.DINGTALK: _l("DingTalk (钉钉)"), Channel.FEISHU: _l("Feishu (飞书)")}


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"      # waiting for its (next) attempt
    SENDING = "sending"      # claimed by a worker until `locked_until`
    SENT = "sent"
    EMPTY = "empty"          # a digest with nothing to say: nothing was sent
    FAILED = "failed"        # gave up after the last attempt


DELIVERY_STATUS_LABELS = {
    DeliveryStatus.PENDING: _l("Waiting to send"), DeliveryStatus.SENDING: _l("Sending"),
    DeliveryStatus.SENT: _l("Sent"), DeliveryStatus.EMPTY: _l("Nothing to send"),
    DeliveryStatus.FAILED: _l("Failed"),
}


class Delivery(db.Model):
    """One e-mail digest or one work-chat message. Its dedupe key is unique, so a sweep run
    twice plans it once; attempts and the last error are kept, and a failed send is retried
    with backoff until it succeeds or the attempts run out."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, name="delivery_channel"))
    # "digest:<user>:<local date>" or "chat:<kind>:<team>:<subject>:<episode>".
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                                index=True)
    # What a chat message says (a notification kind and its parameters); a digest is
    # composed when it is sent.
    kind: Mapped[str | None] = mapped_column(String(20))
    params: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, name="delivery_status"), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(300))
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User")
    team = relationship("Team")


DEFAULT_DIGEST_MINUTE = 8 * 60


class ReminderPreference(db.Model):
    """A user's choices; a user without a row has the defaults (digest on at 08:00 in their
    zone, every kind, no quiet days)."""

    __tablename__ = "reminder_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    digest_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # Minutes after local midnight.
    digest_minute: Mapped[int] = mapped_column(Integer, default=DEFAULT_DIGEST_MINUTE,
                                               server_default=str(DEFAULT_DIGEST_MINUTE))
    # Kinds left out of the digest, comma-separated ("birthday,a_drought").
    digest_off_kinds: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    # ISO weekdays with no digest, comma-separated ("6,7" = the weekend).
    quiet_days: Mapped[str] = mapped_column(String(20), default="", server_default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


# The birthday sweep looks customers and contacts up by date of birth (crm.reminders.sweeps).
def _birthday_indexes():
    from crm.customers.models import Contact, Customer

    Index("ix_customers_birthday", Customer.birthday)
    Index("ix_contacts_birthday", Contact.birthday)


_birthday_indexes()
