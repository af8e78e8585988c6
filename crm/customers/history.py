"""The customer's timeline: ownership changes, edits, follow-ups and deal changes, newest
first, in constant queries."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from crm.audit.models import AuditAction, AuditEvent
from crm.clock import utcnow
from crm.customers.models import OwnershipChange, OwnershipEvent
from crm.extensions import db

TIMELINE_LIMIT = 50


def log_ownership(rows: list[dict]) -> None:
    """Insert ownership events in one statement; each row names customer_id, kind,
    from_user_id, to_user_id, by_user_id, reason."""
    if rows:
        now = utcnow()
        db.session.execute(OwnershipEvent.__table__.insert(),
                           [{"at": now, "reason": None, **row} for row in rows])


def log_one(customer_id: int, kind: OwnershipChange, *, from_user_id=None, to_user_id=None,
            by_user_id=None, reason=None) -> None:
    log_ownership([{"customer_id": customer_id, "kind": kind, "from_user_id": from_user_id,
                    "to_user_id": to_user_id, "by_user_id": by_user_id, "reason": reason}])


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "ownership" or "edit"; later areas add theirs
    item: object


def timeline(customer_id: int, viewer, limit: int = TIMELINE_LIMIT) -> list[TimelineEntry]:
    """What happened to a customer, as far as `viewer` may see: each kind of entry comes
    through its own access scope (a deal the viewer may not open shows no events here)."""
    from crm import access
    from crm.checkins.models import check_ins_as_shown
    from crm.followups.models import Companion, FollowUp
    from crm.pipeline.models import DealEvent
    from crm.recordings.models import recordings_as_shown

    ownership = db.session.scalars(
        select(OwnershipEvent).where(OwnershipEvent.customer_id == customer_id,
                                     access.sees_customer_of(viewer,
                                                             OwnershipEvent.customer_id))
        .options(joinedload(OwnershipEvent.from_user), joinedload(OwnershipEvent.to_user),
                 joinedload(OwnershipEvent.by_user))
        .order_by(OwnershipEvent.at.desc(), OwnershipEvent.id.desc()).limit(limit)).all()
    edits = db.session.scalars(
        select(AuditEvent).where(AuditEvent.customer_id == customer_id,
                                 access.sees_customer_of(viewer, AuditEvent.customer_id),
                                 AuditEvent.action == AuditAction.EDIT)
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)).all()
    follow_ups = db.session.scalars(
        access.follow_ups_scope(viewer).where(FollowUp.customer_id == customer_id)
        .options(joinedload(FollowUp.author),
                 selectinload(FollowUp.companions).joinedload(Companion.user),
                 recordings_as_shown(), check_ins_as_shown())
        .order_by(FollowUp.occurred_at.desc(), FollowUp.id.desc()).limit(limit)).all()
    deal_events = db.session.scalars(
        access.deal_events_scope(viewer).where(DealEvent.customer_id == customer_id)
        .options(joinedload(DealEvent.by_user), joinedload(DealEvent.deal))
        .order_by(DealEvent.at.desc(), DealEvent.id.desc()).limit(limit)).all()
    entries = [TimelineEntry(e.at, "ownership", e) for e in ownership]
    entries += _voice_entries(customer_id, viewer, limit)
    entries += [TimelineEntry(e.at, "deal", e) for e in deal_events]
    entries += [TimelineEntry(f.occurred_at, "followup", f) for f in follow_ups]
    entries += [TimelineEntry(e.at, "edit", e) for e in edits]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


def _voice_entries(customer_id: int, viewer, limit: int) -> list[TimelineEntry]:
    """Feedback changes, survey answers and greetings or gifts (issue 18)."""
    from crm import access
    from crm.voice.models import CareGesture, Feedback, FeedbackEvent, Survey

    events = db.session.scalars(
        select(FeedbackEvent).where(
            FeedbackEvent.customer_id == customer_id,
            FeedbackEvent.feedback_id.in_(access.feedback_scope(viewer)
                                          .with_only_columns(Feedback.id)))
        .options(joinedload(FeedbackEvent.by_user), joinedload(FeedbackEvent.feedback))
        .order_by(FeedbackEvent.at.desc(), FeedbackEvent.id.desc()).limit(limit)).all()
    answers = db.session.scalars(
        access.surveys_scope(viewer).where(Survey.customer_id == customer_id,
                                           Survey.answered_at.is_not(None))
        .order_by(Survey.answered_at.desc()).limit(limit)).all()
    gestures = db.session.scalars(
        select(CareGesture).where(CareGesture.customer_id == customer_id,
                                  access.sees_customer_of(viewer, CareGesture.customer_id))
        .options(joinedload(CareGesture.by_user))
        .order_by(CareGesture.at.desc(), CareGesture.id.desc()).limit(limit)).all()
    return ([TimelineEntry(e.at, "feedback", e) for e in events]
            + [TimelineEntry(s.answered_at, "survey", s) for s in answers]
            + [TimelineEntry(g.at, "care", g) for g in gestures])
