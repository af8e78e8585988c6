"""Attaching a stored audio file to a follow-up: the rule on consent lives here."""

from flask_babel import lazy_gettext as _l

from crm.accounts.models import User
from crm.clock import utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.queue import MEDIA_QUEUE, enqueue_after_commit
from crm.recordings.models import Recording, RecordingStatus
from crm.storage import StoredFile

TRANSCODE_TIMEOUT_SECONDS = 30 * 60
CONSENT_NEEDED = _l("Confirm that the customer agreed to be recorded.")
NOT_FAILED = _l("This recording is not waiting for another try.")


def needs_consent_confirmation(follow_up: FollowUp) -> bool:
    return not follow_up.customer.recording_consent


def attach_recording(follow_up: FollowUp, user: User, stored: StoredFile, audio_type: str,
                     consent_confirmed: bool = False) -> Recording:
    """Record the upload and queue its processing (after the commit).

    A recording of a person is sensitive data: without consent on the card, the uploader
    confirms it, and who and when are kept.
    """
    recording = Recording(follow_up_id=follow_up.id, uploaded_by_id=user.id,
                          original_sha256=stored.sha256, original_size=stored.size,
                          original_type=audio_type)
    if needs_consent_confirmation(follow_up):
        if not consent_confirmed:
            raise DomainError(CONSENT_NEEDED, field="consent")
        recording.consent_confirmed_by_id = user.id
        recording.consent_confirmed_at = utcnow()
    db.session.add(recording)
    db.session.flush()
    queue_processing(recording)
    return recording


def queue_processing(recording: Recording) -> None:
    """Queue the next attempt once the commit is done. If Redis is away then, the recovery
    sweep queues it when Redis answers again (the row says "processing")."""
    from crm.recordings.processing import job_id

    # An hour-long call takes a while to transcode; RQ's default of three minutes is short.
    enqueue_after_commit("crm.recordings.jobs.process_recording", recording.id,
                         queue=MEDIA_QUEUE, job_timeout=TRANSCODE_TIMEOUT_SECONDS,
                         job_id=job_id(recording.id, recording.attempts or 0),
                         result_ttl=3600, failure_ttl=24 * 3600)


def try_again(recording: Recording) -> None:
    """A failed recording is processed afresh (a "try again" from the card)."""
    if recording.status != RecordingStatus.FAILED:
        raise DomainError(NOT_FAILED)
    recording.status = RecordingStatus.PROCESSING
    recording.error = None
    recording.attempts = 0
    recording.started_at = utcnow()  # the recovery sweep leaves it this moment
    queue_processing(recording)
