"""What needs a manager's attention today, for their Today page: each a query or two,
however large the team."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm import access
from crm.accounts.models import User
from crm.extensions import db
from crm.followups.logging import still_the_plan
from crm.followups.models import FollowUp
from crm.pipeline.contact import live_plans
from crm.pipeline.models import OPEN_STAGES, Deal, Grade


@dataclass(frozen=True)
class Overdue:
    person: User
    count: int
    oldest: date


def overdue_by_person(manager: User, today: date) -> list[Overdue]:
    """Per person the manager leads: follow-ups whose next date has passed undone."""
    rows = db.session.execute(
        select(FollowUp.author_id, func.count(), func.min(FollowUp.next_date))
        .where(FollowUp.author_id.in_(access.led_people(manager)),
               FollowUp.next_date.is_not(None), FollowUp.next_date < today, still_the_plan())
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
    open_a = select(Deal).where(Deal.owner_id.in_(access.led_people(manager)),
                                Deal.grade == Grade.A, Deal.stage.in_(OPEN_STAGES))
    planned = live_plans(open_a.with_only_columns(Deal.customer_id)).with_only_columns(
        FollowUp.customer_id).where(FollowUp.next_date >= today).order_by(None)
    return list(db.session.scalars(
        open_a.where(Deal.customer_id.not_in(planned))
        .options(joinedload(Deal.customer), joinedload(Deal.owner))
        .order_by(Deal.expected_close.is_(None), Deal.expected_close, Deal.id).limit(limit)))
