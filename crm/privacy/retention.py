"""Retention: recordings' audio kept N days after the visit (default 365), audit events N
days (default and minimum 3 years), download links of exports until they expire. A legal
hold on a customer exempts their recordings and audit events. Set-based: a few statements
whatever the number of rows.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from crm.accounts.models import User
from crm.audit.log import record
from crm.audit.models import AuditAction, AuditEvent
from crm.clock import utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.privacy.erasure import strip_audio
from crm.privacy.models import (
    MIN_AUDIT_DAYS,
    MIN_RECORDING_DAYS,
    DataExport,
    LegalHold,
    RetentionSettings,
)
from crm.recordings.models import Recording, RecordingStatus


def settings() -> RetentionSettings:
    return db.session.get(RetentionSettings, 1)


def update_settings(row: RetentionSettings, expected_version: int, *, recording_days: int,
                    audit_days: int, by: User) -> None:
    from crm.errors import StaleEdit

    if row.version != expected_version:
        raise StaleEdit()
    if recording_days < MIN_RECORDING_DAYS:
        raise DomainError(_l("Keep recordings at least %(n)d days.", n=MIN_RECORDING_DAYS),
                          field="recording_days")
    if audit_days < MIN_AUDIT_DAYS:
        raise DomainError(_l("Audit events are kept at least %(n)d days (3 years).",
                             n=MIN_AUDIT_DAYS), field="audit_days")
    row.recording_days, row.audit_days = recording_days, audit_days
    row.updated_by_id, row.updated_at = by.id, utcnow()
    record(AuditAction.EDIT, by.id, None, section="retention",
           recording_days=recording_days, audit_days=audit_days)


@dataclass
class Purged:
    recordings: int = 0
    audit_events: int = 0
    exports: int = 0
    hashes: set = field(default_factory=set)
    export_files: list = field(default_factory=list)


def held_customers():
    return select(LegalHold.customer_id)


def purge_rows(now=None) -> Purged:
    """Change the database (the caller commits, then deletes the files named in the result)."""
    now = now or utcnow()
    row = settings()
    purged = Purged()

    recording_cutoff = now - timedelta(days=max(row.recording_days, MIN_RECORDING_DAYS))
    old = (select(Recording.id).join(FollowUp, FollowUp.id == Recording.follow_up_id)
           .where(FollowUp.occurred_at < recording_cutoff,
                  Recording.status != RecordingStatus.DELETED,
                  FollowUp.customer_id.not_in(held_customers())))
    purged.recordings = db.session.scalar(
        select(func.count()).select_from(old.subquery())) or 0
    if purged.recordings:
        # The ids as a materialised subquery: the UPDATE must not read the rows it changes.
        purged.hashes = strip_audio(select(old.subquery().c.id))

    audit_cutoff = now - timedelta(days=max(row.audit_days, MIN_AUDIT_DAYS))
    result = db.session.execute(
        delete(AuditEvent).where(
            AuditEvent.at < audit_cutoff,
            AuditEvent.customer_id.is_(None) | AuditEvent.customer_id.not_in(held_customers()))
        .execution_options(synchronize_session=False))
    purged.audit_events = result.rowcount or 0

    expired = db.session.execute(select(DataExport.id, DataExport.file_name)
                                 .where(DataExport.expires_at <= now)).all()
    if expired:
        purged.export_files = [name for _id, name in expired if name]
        db.session.execute(delete(DataExport).where(DataExport.id.in_([i for i, _ in expired]))
                           .execution_options(synchronize_session=False))
        purged.exports = len(expired)
    if purged.recordings or purged.audit_events or purged.exports:
        record(AuditAction.PURGE, None, None, recordings=purged.recordings,
               audit_events=purged.audit_events, exports=purged.exports)
    return purged

