"""Deals (商机) with stages and A/B/C grades, every change of either, and managers' reviews."""

import enum
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.clock import utcnow
from crm.columns import UTCDateTime, enum_column
from crm.extensions import db


class Stage(enum.StrEnum):
    INQUIRY = "inquiry"
    FIRST_MEETING = "first_meeting"
    INTENT = "intent"
    NEGOTIATION = "negotiation"
    WON = "won"
    AFTER_SALES = "after_sales"
    LOST = "lost"


class Grade(enum.StrEnum):
    A = "A"
    B = "B"
    C = "C"


# The road a deal travels; `lost` stands apart (it can follow any stage).
STAGE_ORDER = (Stage.INQUIRY, Stage.FIRST_MEETING, Stage.INTENT, Stage.NEGOTIATION, Stage.WON,
               Stage.AFTER_SALES)
OPEN_STAGES = (Stage.INQUIRY, Stage.FIRST_MEETING, Stage.INTENT, Stage.NEGOTIATION)
BOARD_STAGES = STAGE_ORDER + (Stage.LOST,)
# A is the best grade: a move towards A is an upgrade.
GRADE_RANK = {Grade.A: 3, Grade.B: 2, Grade.C: 1}

STAGE_LABELS = {
    Stage.INQUIRY: _l("Inquiry"),
    Stage.FIRST_MEETING: _l("First meeting"),
    Stage.INTENT: _l("Intent"),
    Stage.NEGOTIATION: _l("Negotiation"),
    Stage.WON: _l("Won"),
    Stage.AFTER_SALES: _l("After-sales"),
    Stage.LOST: _l("Lost"),
}
GRADE_LABELS = {Grade.A: _l("A: signs within about a week"),
                Grade.B: _l("B: signs within about two weeks"),
                Grade.C: _l("C: signs within about a month")}


class DealChange(enum.StrEnum):
    CREATE = "create"
    STAGE = "stage"
    GRADE = "grade"


class Deal(db.Model):
    __tablename__ = "deals"
    __table_args__ = (
        Index("ix_deals_owner_stage", "owner_id", "stage"),
        Index("ix_deals_stage_grade", "stage", "grade"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    expected_close: Mapped[date | None] = mapped_column(Date)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage, name="deal_stage"),
                                         default=Stage.INQUIRY)
    grade: Mapped[Grade] = mapped_column(enum_column(Grade, name="deal_grade"),
                                         default=Grade.C)
    lost_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # When the grade was last set: the grade's window (A ≈ a week) runs from here.
    graded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    customer = relationship("Customer")
    owner = relationship("User", foreign_keys=[owner_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES


class DealEvent(db.Model):
    """One change of a deal's stage or grade (or its creation): who, from, to, when."""

    __tablename__ = "deal_events"
    __table_args__ = (
        Index("ix_deal_events_deal_at", "deal_id", "at"),
        Index("ix_deal_events_customer_at", "customer_id", "at"),
        Index("ix_deal_events_owner_at", "owner_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    # Copied from the deal so the customer's timeline and the per-rep counts need no join.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[DealChange] = mapped_column(enum_column(DealChange, name="deal_change"))
    from_value: Mapped[str | None] = mapped_column(String(20))
    to_value: Mapped[str] = mapped_column(String(20))
    # +1 forward/upgrade, -1 backward/downgrade, 0 neither (creation, a move to lost).
    direction: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    deal = relationship("Deal")
    by_user = relationship("User", foreign_keys=[by_user_id])


class DealReview(db.Model):
    """A manager marked a deal reviewed in the nightly review, with a note the rep sees."""

    __tablename__ = "deal_reviews"
    __table_args__ = (Index("ix_deal_reviews_deal_at", "deal_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reviewer = relationship("User")
