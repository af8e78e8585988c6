"""Routing in a customer's export and erasure: their fit against each team's ideal profile,
and why routing gave them to their owner (kept on ownership events). Public lead-form
submissions are not stored apart: a lead becomes the customer itself. Registered with
crm.privacy on import."""

from sqlalchemy import select, update

from crm.customers.models import OwnershipEvent
from crm.extensions import db
from crm.privacy import erasure, export
from crm.routing.models import CustomerFit
from crm.routing.routing import explain


def _fits(cid: int) -> list[dict]:
    return export.rows(select(CustomerFit).where(CustomerFit.customer_id == cid)
                       .order_by(CustomerFit.team_id))


def _explanations(cid: int) -> list[dict]:
    """Each routing decision as the card says it (the raw decision is in "ownership")."""
    events = db.session.execute(
        select(OwnershipEvent.id, OwnershipEvent.at, OwnershipEvent.routing)
        .where(OwnershipEvent.customer_id == cid, OwnershipEvent.routing.is_not(None))
        .order_by(OwnershipEvent.at, OwnershipEvent.id)).all()
    return [{"ownership_event_id": event_id, "at": at.isoformat(), "explanation": explain(routing)}
            for event_id, at, routing in events]


def erase(cid: int) -> None:
    """Why routing chose the owner tells which rule the customer's profile matched: it goes
    with the profile. Fits are recomputed from the emptied profile when the customer is
    saved (crm.routing.fit)."""
    db.session.execute(update(OwnershipEvent).where(OwnershipEvent.customer_id == cid)
                       .values(routing=None).execution_options(synchronize_session=False))


export.SECTIONS.extend([("customer_fit", _fits), ("routing_explanations", _explanations)])
erasure.ERASERS.append(erase)
