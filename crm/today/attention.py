"""What needs a manager's attention today, for their Today page: each a query or two,
however large the team."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased, joinedload

from crm import access
from crm.accounts.models import User
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.pipeline.models import OPEN_STAGES, Deal, Grade
from crm.recordings.models import Recording, RecordingStatus
from crm.reviews.models import Review


@dataclass(frozen=True)
class Waiting:
    count: int
    oldest: datetime | None


@dataclass(frozen=True)
class Overdue:
    person: User
    count: int
    oldest: date


def recordings_waiting(manager: User) -> Waiting:
    """Ready recordings of the people the manager leads that nobody has reviewed yet."""
    count, oldest = db.session.execute(
        select(func.count(Recording.id), func.min(Recording.created_at))
        .join(FollowUp, Recording.follow_up_id == FollowUp.id)
        .outerjoin(Review, Review.recording_id == Recording.id)
        .where(Recording.status == RecordingStatus.READY, Review.id.is_(None),
               FollowUp.author_id.in_(access.reviewed_people(manager)))).one()
    return Waiting(count or 0, oldest)


def _planned_not_superseded():
    """Follow-ups whose next step is still the plan: no later follow-up on the customer."""
    later = aliased(FollowUp)
    return ~select(later.id).where(later.customer_id == FollowUp.customer_id,
                                   later.occurred_at > FollowUp.occurred_at).exists()


def overdue_by_person(manager: User, today: date) -> list[Overdue]:
    """Per person the manager leads: follow-ups whose next date has passed undone."""
    rows = db.session.execute(
        select(FollowUp.author_id, func.count(), func.min(FollowUp.next_date))
        .where(FollowUp.author_id.in_(access.led_people(manager)),
               FollowUp.next_date.is_not(None), FollowUp.next_date < today,
               _planned_not_superseded())
        .group_by(FollowUp.author_id)).all()
    if not rows:
        return []
    people = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_([author for author, _count, _oldest in rows])))}
    overdue = [Overdue(people[author], count, oldest) for author, count, oldest in rows]
    return sorted(overdue, key=lambda o: (-o.count, o.oldest, o.person.name))


def a_deals_without_next_step(manager: User, today: date, limit: int = 20) -> list[Deal]:
    """Open A deals of the manager's people whose customer has no next step planned from
    today on (never followed up, no next date, or a next date that has passed)."""
    ranked = (select(FollowUp.customer_id, FollowUp.next_date, func.row_number().over(
        partition_by=FollowUp.customer_id,
        order_by=(FollowUp.occurred_at.desc(), FollowUp.id.desc())).label("rank"))
        .where(FollowUp.customer_id.in_(
            select(Deal.customer_id).where(Deal.owner_id.in_(access.led_people(manager)),
                                           Deal.grade == Grade.A,
                                           Deal.stage.in_(OPEN_STAGES))))
        .subquery())
    planned = select(ranked.c.customer_id).where(ranked.c.rank == 1,
                                                 ranked.c.next_date >= today)
    return list(db.session.scalars(
        select(Deal).where(Deal.owner_id.in_(access.led_people(manager)),
                           Deal.grade == Grade.A, Deal.stage.in_(OPEN_STAGES),
                           Deal.customer_id.not_in(planned))
        .options(joinedload(Deal.customer), joinedload(Deal.owner))
        .order_by(Deal.expected_close.is_(None), Deal.expected_close, Deal.id).limit(limit)))
