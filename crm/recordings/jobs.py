"""Worker jobs of the recordings area."""

from flask import current_app

from crm.clock import utcnow
from crm.extensions import db
from crm.recordings import processing
from crm.recordings.models import Recording, RecordingStatus


def process_recording(recording_id: int) -> str:
    """Make the playable copy, or mark the recording failed with the reason. Safe to run
    twice. Three short transactions: count the attempt, then (no transaction open, no
    connection held) decode and encode, then save the outcome; a database restarted during
    the transcode costs nothing."""
    recording = db.session.get(Recording, recording_id)
    if recording is None or recording.status != RecordingStatus.PROCESSING:
        return "nothing to do"
    if processing.copy_from_twin(recording):
        db.session.commit()
        return recording.status.value
    if recording.attempts >= current_app.config["RECORDING_MAX_ATTEMPTS"]:
        processing.give_up(recording_id, recording.attempts)
        db.session.commit()
        return RecordingStatus.FAILED.value
    recording.attempts += 1
    recording.started_at = utcnow()
    original = recording.original_sha256
    db.session.commit()  # the session gives its connection back to the pool here
    max_seconds = current_app.config["RECORDING_MAX_MINUTES"] * 60
    outcome = processing.make_playable(original, recording_id, max_seconds)
    recording = db.session.get(Recording, recording_id)
    if recording is None or recording.status != RecordingStatus.PROCESSING:
        return "nothing to do"  # erased, or processed by a twin job meanwhile
    processing.apply_outcome(recording, outcome)
    db.session.commit()
    return recording.status.value


def purge_abandoned_uploads() -> int:
    """Chunked uploads with no piece for a day: their rows and partial files go."""
    from crm.recordings.resumable import purge_abandoned
    from crm.storage import audio_store

    purged = purge_abandoned(audio_store())
    db.session.commit()
    return purged


def requeue_stuck() -> int:
    """Every minute (crm/cron.py): recover recordings whose job was lost, and commit what
    it marked failed. Workers run the same recovery between jobs."""
    counts = processing.recover_recordings()
    db.session.commit()
    return counts["queued"] + counts["failed"]
