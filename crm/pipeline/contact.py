"""What the follow-ups say about the customers behind a set of deals, in one query each."""

from datetime import datetime

from sqlalchemy import Select, case, func, select

from crm.extensions import db
from crm.followups.models import FollowUp


def ranked_follow_ups(customer_ids: Select):
    """Follow-ups of these customers, newest of each customer ranked 1, as a subquery."""
    return (select(FollowUp.id, FollowUp.customer_id, FollowUp.next_date,
                   func.row_number().over(
                       partition_by=FollowUp.customer_id,
                       order_by=(FollowUp.occurred_at.desc(), FollowUp.id.desc()))
                   .label("rank"))
            .where(FollowUp.customer_id.in_(customer_ids)).subquery())


def latest_follow_ups(customer_ids: Select) -> dict[int, FollowUp]:
    """Each customer's latest follow-up (its summary, next step and next date)."""
    ranked = ranked_follow_ups(customer_ids)
    rows = db.session.scalars(select(FollowUp).where(
        FollowUp.id.in_(select(ranked.c.id).where(ranked.c.rank == 1))))
    return {f.customer_id: f for f in rows}


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
