"""Check-ins (签到) on visits, and the customer's saved location they are measured against."""

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship, selectinload

from crm.clock import utcnow
from crm.columns import UTCDateTime
from crm.extensions import db


class CheckIn(db.Model):
    """Where the rep was when they checked in, how sure the phone was, and how far that is
    from the customer's saved location. Flagged when far or inaccurate, never refused."""

    __tablename__ = "check_ins"
    __table_args__ = (Index("ix_check_ins_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    # None when the customer has no saved location yet.
    distance_m: Mapped[float | None] = mapped_column(Float)
    far: Mapped[bool] = mapped_column(Boolean, default=False)
    inaccurate: Mapped[bool] = mapped_column(Boolean, default=False)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The visit logged after checking in (set when it is saved).
    follow_up_id: Mapped[int | None] = mapped_column(
        ForeignKey("follow_ups.id", ondelete="SET NULL"), index=True)

    customer = relationship("Customer")
    user = relationship("User")
    follow_up = relationship("FollowUp", backref=backref("check_ins", order_by="CheckIn.at",
                                                         passive_deletes=True))

    @property
    def minutes(self) -> int | None:
        if self.checked_out_at is None:
            return None
        return round((self.checked_out_at - self.at).total_seconds() / 60)


class CustomerLocation(db.Model):
    """A customer's saved position (set at a first check-in), with who set it and when."""

    __tablename__ = "customer_locations"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             primary_key=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    set_by = relationship("User")


def check_ins_as_shown():
    """Loader option for follow-up lists: each visit's check-ins, in one query."""
    from crm.followups.models import FollowUp

    return selectinload(FollowUp.check_ins)
