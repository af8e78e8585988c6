"""What the follow-ups say about the customers behind a set of deals, in one query each."""

from datetime import date, datetime

from sqlalchemy import Select, case, func, select

from crm.extensions import db
from crm.followups.logging import still_the_plan
from crm.followups.models import FollowUp


def live_plans(customer_ids: Select) -> Select:
    """Each customer's latest follow-up, from the `superseded` flag the database keeps
    (0017_scale): no walk through a customer's history. Follow-ups tied on the latest
    moment are all live; in (moment, id) order the last row of a customer is its latest."""
    return (select(FollowUp)
            .where(FollowUp.customer_id.in_(customer_ids), still_the_plan())
            .order_by(FollowUp.occurred_at, FollowUp.id))


def latest_follow_ups(customer_ids: Select) -> dict[int, FollowUp]:
    """Each customer's latest follow-up (its summary, next step and next date)."""
    return {f.customer_id: f for f in db.session.scalars(live_plans(customer_ids))}


def next_dates(customer_ids) -> dict[int, date | None]:
    """Each customer's next planned date, from its latest follow-up: two columns a row."""
    return dict(db.session.execute(live_plans(customer_ids).with_only_columns(
        FollowUp.customer_id, FollowUp.next_date)).all())


def follow_up_counts(customer_ids: Select, *, recent_since: datetime,
                     new_since: datetime) -> dict[int, tuple[int, int, int]]:
    """{customer id: (follow-ups since `recent_since`, in all, since `new_since`)}."""
    rows = db.session.execute(
        select(FollowUp.customer_id,
               func.sum(case((FollowUp.occurred_at >= recent_since, 1), else_=0)),
               func.count(),
               func.sum(case((FollowUp.occurred_at >= new_since, 1), else_=0)))
        .where(FollowUp.customer_id.in_(customer_ids)).group_by(FollowUp.customer_id))
    return {cid: (int(recent or 0), int(total or 0), int(new or 0))
            for cid, recent, total, new in rows}
