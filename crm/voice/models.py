"""Feedback (complaints, suggestions, praise) and its history, satisfaction surveys, a team's
voice settings, member days and the greetings and gifts given to customers."""

import enum
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.clock import utcnow
from crm.columns import UTCDateTime, enum_column
from crm.extensions import db


class FeedbackKind(enum.StrEnum):
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    PRAISE = "praise"


class Channel(enum.StrEnum):
    PHONE = "phone"
    WECHAT = "wechat"
    EMAIL = "email"
    VISIT = "visit"
    SURVEY = "survey"


class Severity(enum.StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class FeedbackStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


# Where each status may go: forward through the workflow, and back ("reopen") from resolved
# or closed.
TRANSITIONS = {
    FeedbackStatus.OPEN: (FeedbackStatus.IN_PROGRESS, FeedbackStatus.RESOLVED),
    FeedbackStatus.IN_PROGRESS: (FeedbackStatus.RESOLVED,),
    FeedbackStatus.RESOLVED: (FeedbackStatus.CLOSED, FeedbackStatus.OPEN),
    FeedbackStatus.CLOSED: (FeedbackStatus.OPEN,),
}
# The deadline runs while the feedback waits for an answer.
RUNNING = (FeedbackStatus.OPEN, FeedbackStatus.IN_PROGRESS)

KIND_LABELS = {FeedbackKind.COMPLAINT: _l("Complaint"), FeedbackKind.SUGGESTION: _l("Suggestion"),
               FeedbackKind.PRAISE: _l("Praise")}
CHANNEL_LABELS = {Channel.PHONE: _l("Phone"), Channel.WECHAT: _l("WeChat"),
                  Channel.EMAIL: _l("E-mail"), Channel.VISIT: _l("Visit"),
                  Channel.SURVEY: _l("Survey")}
SEVERITY_LABELS = {Severity.HIGH: _l("High"), Severity.NORMAL: _l("Normal"),
                   Severity.LOW: _l("Low")}
STATUS_LABELS = {FeedbackStatus.OPEN: _l("Open"), FeedbackStatus.IN_PROGRESS: _l("In progress"),
                 FeedbackStatus.RESOLVED: _l("Resolved"), FeedbackStatus.CLOSED: _l("Closed")}
# What moving to a status is called on its button.
ACTION_LABELS = {FeedbackStatus.IN_PROGRESS: _l("Start work"),
                 FeedbackStatus.RESOLVED: _l("Mark resolved"),
                 FeedbackStatus.CLOSED: _l("Close"), FeedbackStatus.OPEN: _l("Reopen")}


class Feedback(db.Model):
    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_status_due", "status", "due_at"),
                      Index("ix_feedback_customer_received", "customer_id", "received_at"),
                      # The list's order (newest first), walked by keyset.
                      Index("ix_feedback_received_id", "received_at", "id"),
                      # Valuable feedback, newest first (the care list).
                      Index("ix_feedback_valuable_received", "valuable", "received_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[FeedbackKind] = mapped_column(enum_column(FeedbackKind, name="feedback_kind"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, name="feedback_channel"))
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, name="feedback_severity"),
                                               default=Severity.NORMAL)
    status: Mapped[FeedbackStatus] = mapped_column(
        enum_column(FeedbackStatus, name="feedback_status"), default=FeedbackStatus.OPEN)
    summary: Mapped[str] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(Text)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When an answer is due (by severity, in the assignee's team's zone); kept while it runs.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # 1, then one more each time it is reopened: a deadline is missed once per episode.
    deadline_episode: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Valuable feedback: the customer is to be thanked (the care list shows them).
    valuable: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    valuable_note: Mapped[str | None] = mapped_column(String(300))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    customer = relationship("Customer")
    assignee = relationship("User", foreign_keys=[assignee_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    events: Mapped[list["FeedbackEvent"]] = relationship(
        back_populates="feedback", order_by="(FeedbackEvent.at, FeedbackEvent.id)",
        cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    def overdue(self, now: datetime) -> bool:
        return self.status in RUNNING and self.due_at <= now


class FeedbackEvent(db.Model):
    """One change to a feedback: who, when, which field, from what to what."""

    __tablename__ = "feedback_events"
    __table_args__ = (Index("ix_feedback_events_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"),
                                             index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    # "created", "status", "assignee", "severity", "valuable", "resolution"
    field: Mapped[str] = mapped_column(String(20))
    from_value: Mapped[str | None] = mapped_column(String(100))
    to_value: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    feedback: Mapped[Feedback] = relationship(back_populates="events")
    by_user = relationship("User")


class SurveyScale(enum.StrEnum):
    STARS = "stars"  # 1–5
    NPS = "nps"  # 0–10, how likely to recommend


SCALE_LABELS = {SurveyScale.STARS: _l("Score 1–5"), SurveyScale.NPS: _l("Recommend 0–10 (NPS)")}
SCALE_RANGES = {SurveyScale.STARS: range(1, 6), SurveyScale.NPS: range(0, 11)}


class SurveyReason(enum.StrEnum):
    WON_DEAL = "won_deal"
    REVISIT = "revisit"
    COMPLAINT = "complaint"
    OTHER = "other"


REASON_LABELS = {SurveyReason.WON_DEAL: _l("After a won deal"),
                 SurveyReason.REVISIT: _l("After a revisit"),
                 SurveyReason.COMPLAINT: _l("After a closed complaint"),
                 SurveyReason.OTHER: _l("Other")}


class Survey(db.Model):
    """One satisfaction survey: a signed link the customer answers once, before it expires."""

    __tablename__ = "surveys"
    __table_args__ = (Index("ix_surveys_customer_created", "customer_id", "created_at"),
                      Index("ix_surveys_rep_created", "rep_id", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    # Whose work it rates (the customer's owner when sent) and their team then.
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    scale: Mapped[SurveyScale] = mapped_column(enum_column(SurveyScale, name="survey_scale"))
    reason: Mapped[SurveyReason] = mapped_column(enum_column(SurveyReason, name="survey_reason"))
    # Random, signed into the link with the survey's and the customer's ids.
    nonce: Mapped[str] = mapped_column(String(40), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)

    customer = relationship("Customer")
    rep = relationship("User", foreign_keys=[rep_id])


@dataclass(frozen=True)
class VoiceDefaults:
    """What a team without its own voice settings uses (and a new team starts with)."""

    high_hours: int = 24
    normal_hours: int = 72
    low_days: int = 7
    survey_scale: str = SurveyScale.STARS.value
    survey_days: int = 14
    # A score at or below this opens a complaint (on the team's scale).
    low_score_stars: int = 2
    low_score_nps: int = 6
    # Key customers not contacted for this many days are "long silent" on the care list.
    silent_days: int = 60


VOICE_DEFAULTS = VoiceDefaults()


def _setting(default: int):
    return mapped_column(Integer, default=default, server_default=str(default))


class VoiceSettings(db.Model):
    """A team's deadlines, survey scale and thresholds; a team without a row uses the
    defaults (VOICE_DEFAULTS), named as these columns."""

    __tablename__ = "voice_settings"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                         primary_key=True)
    high_hours: Mapped[int] = _setting(VOICE_DEFAULTS.high_hours)
    normal_hours: Mapped[int] = _setting(VOICE_DEFAULTS.normal_hours)
    low_days: Mapped[int] = _setting(VOICE_DEFAULTS.low_days)
    survey_scale: Mapped[str] = mapped_column(String(10), default=VOICE_DEFAULTS.survey_scale)
    survey_days: Mapped[int] = _setting(VOICE_DEFAULTS.survey_days)
    low_score_stars: Mapped[int] = _setting(VOICE_DEFAULTS.low_score_stars)
    low_score_nps: Mapped[int] = _setting(VOICE_DEFAULTS.low_score_nps)
    silent_days: Mapped[int] = _setting(VOICE_DEFAULTS.silent_days)


class MemberDay(db.Model):
    """A team's monthly member day (会员日) and its campaign: what is offered, to which tiers."""

    __tablename__ = "member_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    day_of_month: Mapped[int] = mapped_column(Integer)
    offer: Mapped[str] = mapped_column(Text)
    tiers: Mapped[list] = mapped_column(JSON)  # tier values, e.g. ["key", "suitable"]
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    team = relationship("Team")


class GestureKind(enum.StrEnum):
    GREETING = "greeting"
    GIFT = "gift"


class Occasion(enum.StrEnum):
    BIRTHDAY = "birthday"
    MEMBER_DAY = "member_day"
    THANKS = "thanks"  # for valuable feedback
    OTHER = "other"


GESTURE_LABELS = {GestureKind.GREETING: _l("Greeting"), GestureKind.GIFT: _l("Gift")}
OCCASION_LABELS = {Occasion.BIRTHDAY: _l("Birthday"), Occasion.MEMBER_DAY: _l("Member day"),
                   Occasion.THANKS: _l("Thanks for valuable feedback"),
                   Occasion.OTHER: _l("Other")}


class CareGesture(db.Model):
    """A greeting or gift given to a customer: what, when, by whom, on what occasion."""

    __tablename__ = "care_gestures"
    __table_args__ = (Index("ix_care_gestures_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[GestureKind] = mapped_column(enum_column(GestureKind, name="gesture_kind"))
    occasion: Mapped[Occasion] = mapped_column(enum_column(Occasion, name="care_occasion"))
    what: Mapped[str] = mapped_column(String(200))
    given_on: Mapped[date] = mapped_column(Date)
    member_day_id: Mapped[int | None] = mapped_column(
        ForeignKey("member_days.id", ondelete="SET NULL"))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    by_user = relationship("User")
    member_day = relationship("MemberDay")
