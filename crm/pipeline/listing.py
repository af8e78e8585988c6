"""The deals shown on a customer's card."""

from sqlalchemy.orm import joinedload

from crm import access
from crm.extensions import db
from crm.pipeline.models import GRADE_LABELS, STAGE_LABELS, Deal


def customer_deals(user, customer_id: int) -> dict:
    """Template context for the card's Deals section: the deals the user may see (one
    query) and the labels the section and the timeline's deal entries need."""
    deals = db.session.scalars(
        access.deals_scope(user).where(Deal.customer_id == customer_id)
        .options(joinedload(Deal.owner))
        .order_by(Deal.closed_at.is_not(None), Deal.created_at.desc(), Deal.id.desc())
        .limit(50)).all()
    return {"deals": deals, "stage_labels": STAGE_LABELS, "grade_labels": GRADE_LABELS}
