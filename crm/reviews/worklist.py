"""What the reviews page lists: the manager's queue and follow-through, a rep's reviews."""

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from crm import access
from crm.accounts.models import User
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpKind
from crm.pagination import Page, keyset_page
from crm.recordings.models import Recording, RecordingStatus
from crm.reviews.models import ImprovementAction, Review, ReviewStatus

QUEUE_KINDS = (FollowUpKind.VISIT, FollowUpKind.CALL)


def _unreviewed(manager: User):
    """Ready recordings of the people the manager leads with no review yet."""
    # Through the recording's own author (the database keeps it) and the (author, status)
    # index: the team's ready recordings, not every follow-up the team ever logged. "Not
    # reviewed" is NOT EXISTS: an outer join filtered on NULL misleads PostgreSQL's estimate.
    reviewed = select(Review.id).where(Review.recording_id == Recording.id).exists()
    return (select(Recording).join(FollowUp, Recording.follow_up_id == FollowUp.id)
            .where(Recording.author_id.in_(access.reviewed_people(manager)),
                   Recording.status == RecordingStatus.READY, ~reviewed))


class Waiting(NamedTuple):
    count: int
    oldest: datetime | None


def waiting(manager: User) -> Waiting:
    """How many recordings wait for the manager's review, and since when the oldest."""
    count, oldest = db.session.execute(_unreviewed(manager).with_only_columns(
        func.count(Recording.id), func.min(Recording.created_at))).one()
    return Waiting(count or 0, oldest)


def unreviewed(manager: User, *, rep_id: int | None, kind: str | None,
               after: str | None) -> Page:
    """The manager's queue, oldest first."""
    query = (_unreviewed(manager)
             .options(joinedload(Recording.follow_up).joinedload(FollowUp.customer),
                      joinedload(Recording.follow_up).joinedload(FollowUp.author)))
    if rep_id is not None:
        query = query.where(Recording.author_id == rep_id)
    if kind in set(QUEUE_KINDS):
        query = query.where(FollowUp.kind == FollowUpKind(kind))
    return keyset_page(query, [Recording.created_at, Recording.id], after, limit=30)


def _with_context(query):
    return query.options(
        joinedload(Review.rep), joinedload(Review.reviewer),
        joinedload(Review.recording).joinedload(Recording.follow_up)
        .joinedload(FollowUp.customer))


def drafts_of(manager: User) -> list[Review]:
    return list(db.session.scalars(_with_context(select(Review).where(
        Review.reviewer_id == manager.id, Review.status == ReviewStatus.DRAFT))
        .order_by(Review.created_at).limit(50)))


def awaiting_acknowledgement(manager: User) -> list[Review]:
    return list(db.session.scalars(_with_context(select(Review).where(
        Review.reviewer_id == manager.id, Review.status == ReviewStatus.FINISHED,
        Review.acknowledged_at.is_(None))).order_by(Review.finished_at).limit(50)))


def finished_since(manager: User, since: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(Review).where(
        Review.reviewer_id == manager.id, Review.finished_at >= since)) or 0


def rechecks_due(manager: User, today: date) -> list[ImprovementAction]:
    """Improvement actions on the manager's reviews whose re-check date has come."""
    return list(db.session.scalars(
        select(ImprovementAction).join(Review)
        .where(Review.reviewer_id == manager.id, ImprovementAction.recheck_on <= today,
               ImprovementAction.rechecked_at.is_(None))
        .options(joinedload(ImprovementAction.review).joinedload(Review.rep))
        .order_by(ImprovementAction.recheck_on, ImprovementAction.id).limit(50)))


def reviews_list(user: User, after: str | None, *, own_only: bool) -> Page:
    """Finished reviews, newest first: the rep's own, or (admins) everyone's."""
    query = access.reviews_scope(user).where(Review.status == ReviewStatus.FINISHED)
    if own_only:
        query = query.where(Review.rep_id == user.id)
    query = _with_context(query).options(selectinload(Review.comments))
    return keyset_page(query, [Review.finished_at.desc(), Review.id.desc()], after, limit=30)
