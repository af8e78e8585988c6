"""After-sales revisits (回访): planned once per plan key, fulfilled by a revisit follow-up."""

from datetime import date

from crm.clock import utcnow
from crm.extensions import db
from crm.followups.models import Revisit
from crm.sql import insert_or_ignore


def plan_revisit(customer_id: int, due_on: date, *, reason: str, plan_key: str,
                 deal_id: int | None = None) -> bool:
    """Plan one revisit; the same `plan_key` twice plans it once. True when it was new."""
    result = db.session.execute(insert_or_ignore(Revisit, ["plan_key"]).values(
        customer_id=customer_id, deal_id=deal_id, reason=reason, due_on=due_on,
        plan_key=plan_key, created_at=utcnow()).returning(Revisit.id))
    return result.first() is not None
