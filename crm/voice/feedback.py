"""Feedback: registering it, moving it through its workflow, assigning it, marking it
valuable, and telling managers when a deadline passes. Every change is kept as an event."""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, cast, exists, literal, or_, select
from sqlalchemy.orm import aliased

from crm.accounts.models import Role, Team, User
from crm.clock import utcnow
from crm.errors import DomainError, StaleEdit
from crm.extensions import db
from crm.followups.revisits import plan_revisit
from crm.notifications.inbox import notify, notify_from
from crm.notifications.models import Notification, NotificationKind
from crm.voice.deadlines import due_at
from crm.voice.models import (
    RUNNING,
    TRANSITIONS,
    Channel,
    Feedback,
    FeedbackEvent,
    FeedbackKind,
    FeedbackStatus,
    Severity,
)
from crm.voice.settings import settings_of, zone_of_team

# A closed complaint is followed by a revisit this many days later.
REVISIT_AFTER_DAYS = 3


def _event(feedback: Feedback, by_user, field: str, from_value=None, to_value=None,
           note=None, at=None) -> None:
    db.session.add(FeedbackEvent(
        feedback=feedback, customer_id=feedback.customer_id, field=field,
        from_value=None if from_value is None else str(from_value)[:100],
        to_value=None if to_value is None else str(to_value)[:100], note=note,
        by_user_id=by_user.id if by_user is not None else None, at=at or utcnow()))


def _check_version(feedback: Feedback, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != feedback.version:
        raise StaleEdit()


def _deadline(feedback: Feedback, start: datetime) -> datetime:
    assignee = feedback.assignee
    return due_at(start, feedback.severity, settings_of(assignee),
                  zone_of_team(assignee.team_id if assignee is not None else None))


def _tell_assignee(feedback: Feedback, by_user) -> None:
    if feedback.assignee_id is None or (by_user is not None
                                        and feedback.assignee_id == by_user.id):
        return
    notify(feedback.assignee_id, NotificationKind.FEEDBACK_ASSIGNED,
           dedupe_key=(f"feedback_assigned:{feedback.id}:{feedback.assignee_id}:"
                       f"{feedback.deadline_episode}"),
           link=f"/feedback/{feedback.id}", customer_id=feedback.customer_id,
           params={"kind": feedback.kind.value})


def register_feedback(customer, by_user, *, kind: FeedbackKind, channel: Channel,
                      severity: Severity, summary: str, assignee: User | None = None,
                      received_at: datetime | None = None, survey_id: int | None = None
                      ) -> Feedback:
    """New feedback, assigned to `assignee` or else the customer's owner (or whoever took
    it, for a pool customer), with its deadline by severity."""
    summary = (summary or "").strip()
    if not summary:
        raise DomainError(_l("Say what the customer said."), field="summary")
    now = utcnow()
    received = received_at or now
    if received > now + timedelta(minutes=5):
        raise DomainError(_l("Feedback cannot come from the future."), field="received_at")
    feedback = Feedback(customer_id=customer.id, kind=kind, channel=channel,
                        severity=severity, status=FeedbackStatus.OPEN, summary=summary,
                        assignee=assignee or customer.owner or by_user, received_at=received,
                        created_by_id=by_user.id if by_user is not None else None,
                        survey_id=survey_id, deadline_episode=1)
    feedback.due_at = _deadline(feedback, received)
    db.session.add(feedback)
    db.session.flush()
    _event(feedback, by_user, "created", to_value=kind.value,
           note=None, at=now)
    _tell_assignee(feedback, by_user)
    return feedback


def allowed_moves(feedback: Feedback) -> tuple[FeedbackStatus, ...]:
    return TRANSITIONS[feedback.status]


def change_status(feedback: Feedback, by_user, to: FeedbackStatus, *,
                  expected_version: int | None = None, resolution: str | None = None,
                  note: str | None = None) -> Feedback:
    """Move along the workflow (open → in progress → resolved → closed, reopen from resolved
    or closed). Resolving needs a resolution; reopening starts a new deadline; closing a
    complaint plans a revisit."""
    _check_version(feedback, expected_version)
    if to not in allowed_moves(feedback):
        raise DomainError(_l("This feedback cannot go from %(from)s to %(to)s.",
                             **{"from": feedback.status.value, "to": to.value}))
    resolution = (resolution or "").strip() or None
    now = utcnow()
    if to == FeedbackStatus.RESOLVED:
        if not resolution and not feedback.resolution:
            raise DomainError(_l("Say how it was resolved."), field="resolution")
        if resolution and resolution != feedback.resolution:
            _event(feedback, by_user, "resolution", feedback.resolution, None, note=resolution,
                   at=now)
            feedback.resolution = resolution
        feedback.resolved_at = now
    previous = feedback.status
    feedback.status = to
    if to == FeedbackStatus.CLOSED:
        feedback.closed_at = now
        if feedback.kind == FeedbackKind.COMPLAINT:
            zone = zone_of_team(feedback.assignee.team_id if feedback.assignee else None)
            plan_revisit(feedback.customer_id,
                         now.astimezone(zone).date() + timedelta(days=REVISIT_AFTER_DAYS),
                         reason="complaint",
                         plan_key=f"complaint:{feedback.id}:{feedback.deadline_episode}")
    if to == FeedbackStatus.OPEN:  # reopened: a new answer is due, counted from now
        feedback.deadline_episode += 1
        feedback.due_at = _deadline(feedback, now)
        feedback.resolved_at = feedback.closed_at = None
    _event(feedback, by_user, "status", previous.value, to.value, note=(note or "").strip()
           or None, at=now)
    db.session.flush()
    return feedback


def reassign(feedback: Feedback, by_user, *, assignee: User, severity: Severity,
             expected_version: int | None = None) -> Feedback:
    """Give it to someone else and/or change its severity (the deadline follows)."""
    _check_version(feedback, expected_version)
    now = utcnow()
    changed = False
    if assignee.id != feedback.assignee_id:
        _event(feedback, by_user, "assignee", feedback.assignee.name if feedback.assignee
               else None, assignee.name, at=now)
        feedback.assignee = assignee
        changed = True
    if severity != feedback.severity:
        _event(feedback, by_user, "severity", feedback.severity.value, severity.value, at=now)
        feedback.severity = severity
        changed = True
    if changed and feedback.status in RUNNING:
        feedback.due_at = _deadline(feedback, feedback.received_at
                                    if feedback.deadline_episode == 1 else now)
    db.session.flush()
    if changed:
        _tell_assignee(feedback, by_user)
    return feedback


def mark_valuable(feedback: Feedback, by_user, *, valuable: bool, note: str | None,
                  expected_version: int | None = None) -> Feedback:
    """Valuable feedback earns the customer a thank-you: they appear on the care list."""
    _check_version(feedback, expected_version)
    note = (note or "").strip() or None
    if valuable and not note:
        raise DomainError(_l("Say what made it valuable."), field="valuable_note")
    if valuable != feedback.valuable or note != feedback.valuable_note:
        _event(feedback, by_user, "valuable", "yes" if feedback.valuable else "no",
               "yes" if valuable else "no", note=note)
    feedback.valuable = valuable
    feedback.valuable_note = note if valuable else None
    db.session.flush()
    return feedback


# Deadlines ---------------------------------------------------------------------------------

def managers_to_tell():
    """(feedback id, manager id) for every running feedback past its deadline: the managers
    of the assignee's team other than the assignee, or, when there is none (the assignee
    leads the team), the managers of the team above."""
    assignee = aliased(User)
    manager = aliased(User)
    other = aliased(User)
    team = aliased(Team)
    active_manager = and_(manager.role == Role.MANAGER, manager.active.is_(True),
                          manager.id != assignee.id)
    no_other_manager = ~exists().where(other.team_id == assignee.team_id,
                                       other.role == Role.MANAGER, other.active.is_(True),
                                       other.id != assignee.id)
    return (select(Feedback.id.label("feedback_id"), manager.id.label("manager_id"),
                   Feedback.customer_id, Feedback.deadline_episode)
            .join(assignee, assignee.id == Feedback.assignee_id)
            .join(team, team.id == assignee.team_id)
            .join(manager, active_manager & or_(
                manager.team_id == assignee.team_id,
                and_(manager.team_id == team.parent_id, no_other_manager))))


def notify_overdue(now: datetime | None = None) -> int:
    """One INSERT … SELECT: each manager hears once per feedback and deadline (a reopened
    feedback has a new deadline, and may be late again). Returns how many were told."""
    now = now or utcnow()
    pairs = managers_to_tell().where(Feedback.status.in_(RUNNING),
                                     Feedback.due_at <= now).subquery()
    key = (literal("feedback_overdue:") + cast(pairs.c.feedback_id, String) + literal(":")
           + cast(pairs.c.manager_id, String) + literal(":")
           + cast(pairs.c.deadline_episode, String))
    rows = (select(pairs.c.manager_id, literal(NotificationKind.FEEDBACK_OVERDUE.value), key,
                  literal("/feedback/") + cast(pairs.c.feedback_id, String),
                  pairs.c.customer_id, literal(now, Notification.created_at.type))
            # SQLite reads "ON CONFLICT" after a bare FROM as a join's ON: a WHERE ends it.
            .where(pairs.c.feedback_id.is_not(None)))
    return notify_from(rows, ["user_id", "kind", "dedupe_key", "link", "customer_id",
                              "created_at"])

