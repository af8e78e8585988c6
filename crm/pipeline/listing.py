"""Deals listed outside the board: on a customer's card, and counted for Today."""

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm import access
from crm.extensions import db
from crm.pipeline.models import GRADE_LABELS, OPEN_STAGES, STAGE_LABELS, Deal, Grade


def customer_deals(user, customer_id: int) -> dict:
    """Template context for the card's Deals section: the deals the user may see (one
    query) and the labels the section and the timeline's deal entries need."""
    deals = db.session.scalars(
        select(Deal).where(Deal.customer_id == customer_id, access.sees_deal(user))
        .options(joinedload(Deal.owner))
        .order_by(Deal.closed_at.is_not(None), Deal.created_at.desc(), Deal.id.desc())
        .limit(50)).all()
    return {"deals": deals, "stage_labels": STAGE_LABELS, "grade_labels": GRADE_LABELS}


def open_deals_by_grade(owner_id: int) -> dict[Grade, int]:
    """How many open deals a rep holds per grade (for Today), in one grouped query."""
    return dict(db.session.execute(
        select(Deal.grade, func.count()).where(Deal.owner_id == owner_id,
                                               Deal.stage.in_(OPEN_STAGES))
        .group_by(Deal.grade)).all())
