"""The feedback list's filters, read from the query string (garbage means "no filter")."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select

from crm.accounts.models import Team, User
from crm.params import int_arg
from crm.voice.models import RUNNING, Feedback, FeedbackKind, FeedbackStatus


def _enum_or_none(enum_cls, raw):
    try:
        return enum_cls(raw) if raw else None
    except ValueError:
        return None


@dataclass
class FeedbackFilters:
    kind: FeedbackKind | None = None
    status: FeedbackStatus | None = None
    overdue: bool = False
    assignee_id: int | None = None
    team_id: int | None = None

    @classmethod
    def from_args(cls, args) -> "FeedbackFilters":
        return cls(kind=_enum_or_none(FeedbackKind, args.get("kind")),
                   status=_enum_or_none(FeedbackStatus, args.get("status")),
                   overdue=args.get("overdue") == "1",
                   assignee_id=int_arg(args, "assignee"),
                   team_id=int_arg(args, "team"))

    def apply(self, query: Select, now: datetime, team: Team | None) -> Select:
        if self.kind:
            query = query.where(Feedback.kind == self.kind)
        if self.status:
            query = query.where(Feedback.status == self.status)
        if self.overdue:
            query = query.where(Feedback.status.in_(RUNNING), Feedback.due_at <= now)
        if self.assignee_id:
            query = query.where(Feedback.assignee_id == self.assignee_id)
        if team is not None:
            query = query.where(Feedback.assignee_id.in_(
                select(User.id).where(User.team_id.in_(
                    select(Team.id).where(Team.path.startswith(team.path))))))
        return query
