"""Recording audit events: one call, from views, jobs and the CLI alike."""

from crm.audit.models import AuditAction, AuditEvent
from crm.extensions import db


def record(action: AuditAction, actor_id: int | None, customer_id: int | None = None,
           **detail) -> AuditEvent:
    """Add an audit event to the current transaction (it commits with the change)."""
    event = AuditEvent(action=action, actor_id=actor_id, customer_id=customer_id, detail=detail)
    db.session.add(event)
    return event


def record_many(action: AuditAction, actor_id: int | None, customer_ids, **detail) -> None:
    """One event per customer in a single INSERT (bulk transfers, exports of many)."""
    rows = [{"action": action, "actor_id": actor_id, "customer_id": cid, "detail": detail}
            for cid in customer_ids]
    if rows:
        db.session.execute(AuditEvent.__table__.insert(), rows)
