"""Goals (目标): a target for a metric over a month, quarter or year, for a team or one of its
members; progress is computed from crm.metrics, never typed. Every change is kept."""

import enum
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.clock import utcnow
from crm.columns import UTCDateTime, enum_column
from crm.extensions import db


class GoalPeriod(enum.StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


PERIOD_LABELS = {GoalPeriod.MONTH: _l("Month"), GoalPeriod.QUARTER: _l("Quarter"),
                 GoalPeriod.YEAR: _l("Year")}


class Goal(db.Model):
    __tablename__ = "goals"
    __table_args__ = (Index("ix_goals_team_period", "team_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The team the goal belongs to; with a user, that member's share of it.
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    metric: Mapped[str] = mapped_column(String(40))
    period: Mapped[GoalPeriod] = mapped_column(enum_column(GoalPeriod, name="goal_period"))
    period_start: Mapped[date] = mapped_column(Date)
    target: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    # The member's weight when the team's target was split by weights.
    weight: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    team = relationship("Team")
    user = relationship("User", foreign_keys=[user_id])

    __mapper_args__ = {"version_id_col": version}


# One goal per subject, metric and period (a team goal has no user: counted as 0).
GOAL_SUBJECT_INDEX = "uq_goals_subject"
Index(GOAL_SUBJECT_INDEX, Goal.team_id, func.coalesce(Goal.user_id, 0), Goal.metric,
      Goal.period, Goal.period_start, unique=True)


class GoalChange(db.Model):
    """Who changed a goal, when, from what to what ("target", "locked", "created")."""

    __tablename__ = "goal_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"), index=True)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    field: Mapped[str] = mapped_column(String(20))
    from_value: Mapped[str | None] = mapped_column(String(40))
    to_value: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    by_user = relationship("User")
