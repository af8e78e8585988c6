"""Data-subject requests, exports of one customer's data, legal holds and retention settings."""

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.clock import utcnow
from crm.columns import UTCDateTime, enum_column
from crm.extensions import db


class RequestKind(enum.StrEnum):
    ACCESS = "access"  # access and a copy
    CORRECTION = "correction"
    DELETION = "deletion"
    CONSENT = "consent_withdrawal"


class RequestStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    REFUSED = "refused"


REQUEST_KIND_LABELS = {
    RequestKind.ACCESS: _l("Access and copy"),
    RequestKind.CORRECTION: _l("Correction"),
    RequestKind.DELETION: _l("Deletion"),
    RequestKind.CONSENT: _l("Consent withdrawal"),
}
REQUEST_STATUS_LABELS = {
    RequestStatus.OPEN: _l("Open"),
    RequestStatus.IN_PROGRESS: _l("In progress"),
    RequestStatus.DONE: _l("Done"),
    RequestStatus.REFUSED: _l("Refused"),
}
CLOSED_STATUSES = (RequestStatus.DONE, RequestStatus.REFUSED)
# PIPL asks for a timely answer; 15 days is the national standard's (GB/T 35273) limit.
ANSWER_WITHIN_DAYS = 15


class DataRequest(db.Model):
    __tablename__ = "data_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RequestKind] = mapped_column(enum_column(RequestKind, name="data_request_kind"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[RequestStatus] = mapped_column(
        enum_column(RequestStatus, name="data_request_status"), default=RequestStatus.OPEN)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # How the request was answered; no more of the person's data than the answer needs.
    outcome: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    customer = relationship("Customer")
    handler = relationship("User", foreign_keys=[handler_id])

    __mapper_args__ = {"version_id_col": version}


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    READY = "ready"
    FAILED = "failed"


class DataExport(db.Model):
    """One customer's data as a ZIP, made by the worker; downloadable until it expires."""

    __tablename__ = "data_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_requests.id", ondelete="SET NULL"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[ExportStatus] = mapped_column(
        enum_column(ExportStatus, name="data_export_status"), default=ExportStatus.QUEUED)
    # The download link's secret part; the link also needs a session allowed to use it.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    file_name: Mapped[str | None] = mapped_column(String(120))
    size: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    customer = relationship("Customer")
    requested_by = relationship("User")


class LegalHold(db.Model):
    """Data kept for a dispute or an authority: no erasure, no retention purge."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), unique=True)
    reason: Mapped[str] = mapped_column(String(300))
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    placed_by = relationship("User")


class RetentionSettings(db.Model):
    """One row (id 1, stored by the migration): how long recordings and audit events live."""

    __tablename__ = "retention_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_days: Mapped[int] = mapped_column(Integer, default=365)
    audit_days: Mapped[int] = mapped_column(Integer, default=1095)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class SecuritySettings(db.Model):
    """One row (id 1, stored by the migration): account rules an administrator sets."""

    __tablename__ = "security_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Managers and administrators must sign in with a second factor (TOTP).
    two_factor_for_leads: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(db.Model):
    """A one-time code that replaces the authenticator once (hashed like a password)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Audit events are kept at least three years, whatever the setting says.
MIN_AUDIT_DAYS = 3 * 365
MIN_RECORDING_DAYS = 30
