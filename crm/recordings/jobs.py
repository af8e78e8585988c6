"""Worker jobs of the recordings area."""

from crm.extensions import db
from crm.recordings import processing
from crm.recordings.models import Recording, RecordingStatus


def process_recording(recording_id: int) -> str:
    """Make the playable copy, or mark the recording failed with the reason. Safe to run
    twice; no transaction stays open while the audio is transcoded."""
    recording = db.session.get(Recording, recording_id)
    if recording is None or recording.status != RecordingStatus.PROCESSING:
        return "nothing to do"
    if processing.copy_from_twin(recording):
        db.session.commit()
        return recording.status.value
    original = recording.original_sha256
    db.session.rollback()  # only read so far: end that read before the long part
    outcome = processing.make_playable(original, recording_id)
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
