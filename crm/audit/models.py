"""Who viewed, exported, changed, transferred or erased which customer data."""

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.clock import utcnow
from crm.columns import UTCDateTime, enum_column
from crm.extensions import db


class AuditAction(enum.StrEnum):
    VIEW = "view"
    CREATE = "create"
    EDIT = "edit"
    EXPORT = "export"
    IMPORT = "import"
    TRANSFER = "transfer"
    ERASE = "erase"
    # Issue 15: what the audit trail must also show (values at most 20 characters).
    VIEW_CONTACT = "view_contact"
    PLAY = "play"
    DOWNLOAD = "download"
    DATA_EXPORT = "data_export"
    CONSENT = "consent"
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    ROLE_CHANGE = "role_change"
    TEAM_CHANGE = "team_change"
    PURGE = "purge"
    REQUEST = "data_request"


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_customer_at", "customer_id", "at"),
                      Index("ix_audit_events_action_at", "action", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[AuditAction] = mapped_column(enum_column(AuditAction, name="audit_action"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"))
    # Names of changed fields, counts and filters: never the personal data itself.
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    actor = relationship("User")
