"""Reviews (录音分析): a manager's timestamped comments, rubric scores, summary and
improvement actions on one recording, and the rep's replies and acknowledgement."""

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.clock import utcnow
from crm.columns import UTCDateTime, enum_column
from crm.extensions import db


class ReviewStatus(enum.StrEnum):
    DRAFT = "draft"
    FINISHED = "finished"


class CommentKind(enum.StrEnum):
    PRAISE = "praise"
    ISSUE = "issue"
    SUGGESTION = "suggestion"


COMMENT_KIND_LABELS = {CommentKind.PRAISE: _l("Praise"), CommentKind.ISSUE: _l("Issue"),
                       CommentKind.SUGGESTION: _l("Suggestion")}


class RubricVersion(db.Model):
    """One edition of the scorecard. Editing the rubric adds a version; reviews keep theirs."""

    __tablename__ = "rubric_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    # [{"key": "opening", "label": str | None, "levels": [5 × str | None]}]; None means the
    # built-in wording, shown in the reader's language.
    items: Mapped[list[dict]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Review(db.Model):
    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_rep_finished", "rep_id", "finished_at"),
        Index("ix_reviews_reviewer_finished", "reviewer_id", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), unique=True)
    # The follow-up's author, kept here so scopes and trends need no joins.
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_versions.id"))
    status: Mapped[ReviewStatus] = mapped_column(
        enum_column(ReviewStatus, name="review_status"), default=ReviewStatus.DRAFT)
    summary: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    recording = relationship("Recording")
    rep = relationship("User", foreign_keys=[rep_id])
    reviewer = relationship("User", foreign_keys=[reviewer_id])
    rubric_version: Mapped[RubricVersion] = relationship()
    comments: Mapped[list["ReviewComment"]] = relationship(
        back_populates="review", cascade="all, delete-orphan",
        order_by="(ReviewComment.at_seconds, ReviewComment.id)")
    scores: Mapped[list["ReviewScore"]] = relationship(
        back_populates="review", cascade="all, delete-orphan")
    actions: Mapped[list["ImprovementAction"]] = relationship(
        back_populates="review", cascade="all, delete-orphan",
        order_by="(ImprovementAction.recheck_on, ImprovementAction.id)")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_draft(self) -> bool:
        return self.status == ReviewStatus.DRAFT

    @property
    def score_by_item(self) -> dict[str, int]:
        return {score.item_key: score.score for score in self.scores}


class ReviewComment(db.Model):
    __tablename__ = "review_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"),
                                           index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at_seconds: Mapped[float] = mapped_column(Float)
    kind: Mapped[CommentKind] = mapped_column(enum_column(CommentKind, name="comment_kind"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The rep's answer to this comment.
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    review: Mapped[Review] = relationship(back_populates="comments")


class ReviewScore(db.Model):
    __tablename__ = "review_scores"
    __table_args__ = (UniqueConstraint("review_id", "item_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"))
    item_key: Mapped[str] = mapped_column(String(40))
    score: Mapped[int] = mapped_column(Integer)

    review: Mapped[Review] = relationship(back_populates="scores")


class ImprovementAction(db.Model):
    """What the rep is to change, and when the manager checks whether it did (阶段性核查)."""

    __tablename__ = "review_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"),
                                           index=True)
    text: Mapped[str] = mapped_column(String(300))
    recheck_on: Mapped[date] = mapped_column(Date, index=True)
    rechecked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    review: Mapped[Review] = relationship(back_populates="actions")
