"""Follow-ups (跟进记录): visits, calls, meetings, messages and notes, with ride-alongs (陪访)."""

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.clock import utcnow
from crm.columns import UTCDateTime, enum_column
from crm.extensions import db


class FollowUpKind(enum.StrEnum):
    VISIT = "visit"
    CALL = "call"
    MEETING = "meeting"
    MESSAGE = "message"
    NOTE = "note"
    REVISIT = "revisit"  # after-sales (回访): fulfils the customer's next planned revisit


KIND_LABELS = {FollowUpKind.VISIT: _l("Visit"), FollowUpKind.CALL: _l("Phone call"),
               FollowUpKind.MEETING: _l("Meeting"), FollowUpKind.MESSAGE: _l("Text message"),
               FollowUpKind.NOTE: _l("Note"), FollowUpKind.REVISIT: _l("After-sales revisit")}


class FollowUp(db.Model):
    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_customer_occurred", "customer_id", "occurred_at"),
        Index("ix_follow_ups_author_occurred", "author_id", "occurred_at"),
        # Counting a team's visits or calls in a period reads the index alone (crm.metrics).
        Index("ix_follow_ups_author_kind_occurred", "author_id", "kind", "occurred_at"),
        # A rep's due list reads only the live plans (0017_scale).
        Index("ix_follow_ups_author_plan", "author_id", "superseded", "next_date",
              postgresql_where=text("next_date IS NOT NULL"),
              sqlite_where=text("next_date IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[FollowUpKind] = mapped_column(enum_column(FollowUpKind, name="follow_up_kind"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    location: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(String(300))
    next_date: Mapped[date | None] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # A random key the log form carries: a form sent twice (a retry on a weak network)
    # finds the follow-up the first one saved instead of making a second.
    submission_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    # A later follow-up on the customer exists, so this one's next step is no longer the
    # plan. Kept by database triggers (migration 0017_scale), whoever writes the rows.
    superseded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    customer = relationship("Customer")
    author = relationship("User")
    companions: Mapped[list["Companion"]] = relationship(
        back_populates="follow_up", cascade="all, delete-orphan", order_by="Companion.id")
    recordings: Mapped[list["Recording"]] = relationship(  # noqa: F821
        back_populates="follow_up", order_by="Recording.id", passive_deletes=True)

    __mapper_args__ = {"version_id_col": version}


class Companion(db.Model):
    """Someone who rode along on a visit (陪访), with their own notes."""

    __tablename__ = "follow_up_companions"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id", ondelete="CASCADE"),
                                              index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    notes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    follow_up: Mapped[FollowUp] = relationship(back_populates="companions")
    user = relationship("User")


class Revisit(db.Model):
    """A planned after-sales revisit (回访): due on a date, done by a follow-up of kind revisit."""

    __tablename__ = "revisits"
    __table_args__ = (Index("ix_revisits_customer_due", "customer_id", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    # What planned it: "won_deal", "complaint", … (areas name their own reasons).
    reason: Mapped[str] = mapped_column(String(20))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    # Unique: planning the same revisit twice (a job run again) keeps one.
    plan_key: Mapped[str] = mapped_column(String(120), unique=True)
    done_follow_up_id: Mapped[int | None] = mapped_column(
        ForeignKey("follow_ups.id", ondelete="SET NULL"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer = relationship("Customer")
