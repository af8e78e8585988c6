"""Recording audit events: one call, from views, jobs and the CLI alike."""

from sqlalchemy import JSON, Integer, Select, literal

from crm.audit.models import AuditAction, AuditEvent
from crm.clock import utcnow
from crm.columns import UTCDateTime
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


def record_from(action: AuditAction, actor_id: int | None, customer_ids: Select,
                **detail) -> None:
    """One event per customer id the SELECT yields, in one INSERT … SELECT: an export of
    100,000 customers records whom it held without loading them."""
    columns = customer_ids.selected_columns
    if len(columns) != 1:
        raise ValueError("select exactly one column: the customer ids")
    rows = customer_ids.with_only_columns(
        literal(action.value).label("action"), literal(actor_id, Integer).label("actor_id"),
        columns[0].label("customer_id"), literal(detail, JSON).label("detail"),
        literal(utcnow(), UTCDateTime).label("at"), maintain_column_froms=True)
    db.session.execute(AuditEvent.__table__.insert().from_select(
        ["action", "actor_id", "customer_id", "detail", "at"], rows.order_by(None)))
