"""The register of data subjects' requests, legal holds and consent withdrawal."""

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.accounts.models import User
from crm.audit.log import record
from crm.audit.models import AuditAction
from crm.clock import utcnow
from crm.customers.models import Customer
from crm.errors import DomainError, StaleEdit
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.privacy.erasure import strip_audio
from crm.privacy.models import (
    ANSWER_WITHIN_DAYS,
    CLOSED_STATUSES,
    DataRequest,
    LegalHold,
    RequestKind,
    RequestStatus,
)
from crm.recordings.models import Recording, RecordingStatus


def register_request(*, kind: RequestKind, customer: Customer, received_on: date,
                     due_on: date | None, by: User) -> DataRequest:
    if due_on is not None and due_on < received_on:
        raise DomainError(_l("The answer cannot be due before the request was received."),
                          field="due_on")
    row = DataRequest(kind=kind, customer_id=customer.id, received_on=received_on,
                      due_on=due_on or received_on + timedelta(days=ANSWER_WITHIN_DAYS),
                      status=RequestStatus.OPEN, handler_id=by.id, created_by_id=by.id)
    db.session.add(row)
    db.session.flush()
    record(AuditAction.REQUEST, by.id, customer.id, request=row.id, kind=kind.value,
           step="registered")
    return row


def update_request(row: DataRequest, expected_version: int, *, status: RequestStatus,
                   handler: User | None, outcome: str | None, by: User) -> None:
    if row.version != expected_version:
        raise StaleEdit()
    if status in CLOSED_STATUSES and not (outcome or "").strip():
        raise DomainError(_l("Say how the request was answered before closing it."),
                          field="outcome")
    row.status, row.handler_id = status, handler.id if handler else None
    row.outcome = (outcome or "").strip() or None
    row.closed_at = utcnow() if status in CLOSED_STATUSES else None
    record(AuditAction.REQUEST, by.id, row.customer_id, request=row.id, status=status.value,
           step="updated")


def legal_hold_of(customer_id: int) -> LegalHold | None:
    return db.session.scalars(select(LegalHold).where(LegalHold.customer_id == customer_id)).first()


def place_hold(customer: Customer, reason: str, by: User) -> None:
    if legal_hold_of(customer.id) is not None:
        raise DomainError(_l("This customer's data is already under a legal hold."))
    if customer.erased_at is not None:
        raise DomainError(_l("This customer's data has already been erased."))
    db.session.add(LegalHold(customer_id=customer.id, reason=reason.strip(), placed_by_id=by.id))
    record(AuditAction.EDIT, by.id, customer.id, section="legal_hold", step="placed")


def release_hold(customer: Customer, by: User) -> None:
    hold = legal_hold_of(customer.id)
    if hold is None:
        raise DomainError(_l("There is no legal hold on this customer."))
    db.session.delete(hold)
    record(AuditAction.EDIT, by.id, customer.id, section="legal_hold", step="released")


def withdraw_consent(customer: Customer, by: User) -> None:
    """Nobody plays or reviews the customer's recordings from now on; new ones need consent
    again at upload."""
    if customer.consent_withdrawn_at is not None:
        raise DomainError(_l("Consent to recording is already withdrawn."))
    customer.consent_withdrawn_at = utcnow()
    customer.recording_consent = False
    record(AuditAction.CONSENT, by.id, customer.id, consent="withdrawn")


def customer_recordings(customer_id: int):
    return select(Recording.id).where(
        Recording.status != RecordingStatus.DELETED,
        Recording.follow_up_id.in_(select(FollowUp.id).where(FollowUp.customer_id == customer_id)))


def delete_recordings(customer: Customer, by: User) -> set[str]:
    """After consent is withdrawn an admin may delete the audio (rows stay for reviews);
    returns the hashes for crm.privacy.erasure.delete_unreferenced_audio after the commit."""
    if customer.consent_withdrawn_at is None:
        raise DomainError(_l("Recordings are deleted here only after consent is withdrawn."))
    if legal_hold_of(customer.id) is not None:
        raise DomainError(_l("A legal hold keeps this customer's data: release it first."))
    ids = list(db.session.scalars(customer_recordings(customer.id)))
    hashes = strip_audio(ids) if ids else set()
    record(AuditAction.CONSENT, by.id, customer.id, recordings_deleted=len(ids))
    return hashes
