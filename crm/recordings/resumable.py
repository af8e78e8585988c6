"""Recordings sent in chunks that resume from the last byte the server confirmed.

A phone on a weak network starts an upload (the follow-up, the total size, consent), then
sends the file in pieces, each saying at which byte it starts. The partial file on disk is
the truth: its length is the confirmed offset. A piece that repeats bytes already here has
that part skipped; one that starts past the end is refused with the offset to resume from;
bytes past the announced size are never written. Bytes of a piece cut off half way are kept,
so a resume loses nothing already received. When the last byte is in, the file is hashed,
kept once under its hash like any other upload, and attached to the follow-up.

The same rules as a one-request upload apply: only someone who may add to the follow-up
starts one, the size limit holds across all pieces, the first bytes must be audio, and a
customer whose card does not record consent needs it confirmed at the start.
"""

import fcntl
import hashlib
import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from crm.accounts.models import User
from crm.clock import utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.recordings.attaching import attach_recording, needs_consent_confirmation
from crm.recordings.models import Recording, RecordingUpload
from crm.recordings.sniffing import HEADER_BYTES, sniff_audio
from crm.storage import CHUNK_BYTES, FileStore, StoredFile

ABANDONED_AFTER = timedelta(days=1)
NOT_AUDIO = _l("This file is not a recording we can play. Send an audio file: m4a, mp3, wav, "
               "ogg, webm, 3gp or amr.")


class UploadRefused(DomainError):
    """A request the upload cannot take, with the HTTP status that says why."""

    def __init__(self, message, status: int, offset: int | None = None):
        super().__init__(message)
        self.status = status
        self.offset = offset


def partial_dir(store: FileStore) -> Path:
    return store.root / "partial"


def partial_path(store: FileStore, upload_id: str) -> Path:
    if not upload_id.replace("-", "").replace("_", "").isalnum():
        raise ValueError("not an upload id")
    return partial_dir(store) / upload_id


def start_upload(store: FileStore, follow_up: FollowUp, user: User, size: int, max_bytes: int,
                 consent_confirmed: bool) -> RecordingUpload:
    if size <= 0:
        raise UploadRefused(_l("The recording is empty."), 422)
    if size > max_bytes:
        raise UploadRefused(_l("The recording is too large."), 413)
    if needs_consent_confirmation(follow_up) and not consent_confirmed:
        raise UploadRefused(_l("Confirm that the customer agreed to be recorded."), 422)
    upload = RecordingUpload(id=secrets.token_urlsafe(18), follow_up_id=follow_up.id,
                             user_id=user.id, size=size,
                             consent_confirmed=bool(consent_confirmed))
    db.session.add(upload)
    folder = partial_dir(store)
    folder.mkdir(parents=True, exist_ok=True)
    partial_path(store, upload.id).touch()
    db.session.flush()
    return upload


def confirmed_offset(store: FileStore, upload: RecordingUpload) -> int:
    try:
        return partial_path(store, upload.id).stat().st_size
    except FileNotFoundError:
        return 0


def receive_chunk(store: FileStore, upload: RecordingUpload, offset: int, stream,
                  length: int | None) -> int:
    """Append the bytes of one piece that are new; answer the confirmed offset.

    `stream` is read in small pieces and written as it comes, so a piece cut off half way
    keeps what arrived. Raises UploadRefused (409 wrong offset, 413 past the size, 415 not
    audio); the caller commits (the upload's last activity) either way.
    """
    path = partial_path(store, upload.id)
    if not path.exists():
        raise UploadRefused(_l("This upload is no longer here; start again."), 404)
    if length is not None and offset + length > upload.size:
        raise UploadRefused(_l("The recording is too large."), 413,
                            offset=confirmed_offset(store, upload))
    with open(path, "r+b") as partial:
        fcntl.flock(partial, fcntl.LOCK_EX)  # one writer per upload, even across processes
        try:
            have = os.fstat(partial.fileno()).st_size
            if offset > have:
                raise UploadRefused(_l("The upload has to resume from an earlier byte."), 409,
                                    offset=have)
            skip = have - offset  # bytes of this piece already here (a repeat)
            room = upload.size - have
            partial.seek(have)
            try:
                while True:
                    data = stream.read(CHUNK_BYTES)
                    if not data:
                        break
                    if skip:
                        dropped = min(skip, len(data))
                        data = data[dropped:]
                        skip -= dropped
                    if len(data) > room:
                        raise UploadRefused(_l("The recording is too large."), 413, offset=have)
                    partial.write(data)
                    have += len(data)
                    room -= len(data)
            finally:
                partial.flush()
                os.fsync(partial.fileno())
            if have >= HEADER_BYTES or have == upload.size:
                _check_audio(upload, partial)
        finally:
            fcntl.flock(partial, fcntl.LOCK_UN)
    upload.updated_at = utcnow()
    return have


def _check_audio(upload: RecordingUpload, partial) -> None:
    if upload.audio_type:
        return
    partial.seek(0)
    audio_type = sniff_audio(partial.read(HEADER_BYTES))
    if audio_type is None:
        raise UploadRefused(NOT_AUDIO, 415)
    upload.audio_type = audio_type


def is_complete(store: FileStore, upload: RecordingUpload) -> bool:
    return confirmed_offset(store, upload) == upload.size


def finish_upload(store: FileStore, upload: RecordingUpload, user: User) -> Recording:
    """Hash the complete file, keep it under its hash, attach it, forget the upload."""
    path = partial_path(store, upload.id)
    digest = hashlib.sha256()
    with open(path, "rb") as partial:
        while chunk := partial.read(CHUNK_BYTES):
            digest.update(chunk)
    sha256 = digest.hexdigest()
    twin = db.session.scalars(select(Recording).where(
        Recording.follow_up_id == upload.follow_up_id,
        Recording.original_sha256 == sha256)).first()
    if twin is not None:
        # The same audio sent twice for this visit (two tabs, a retry after a lost answer).
        discard_upload(store, upload)
        return twin
    target = store.path_for(sha256)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except FileExistsError:
            pass  # the same bytes arrived twice at once: one copy is enough
    recording = attach_recording(upload.follow_up, user, StoredFile(sha256, upload.size, target),
                                 upload.audio_type, consent_confirmed=upload.consent_confirmed)
    db.session.delete(upload)
    db.session.flush()
    path.unlink(missing_ok=True)
    return recording


def discard_upload(store: FileStore, upload: RecordingUpload) -> None:
    db.session.delete(upload)
    db.session.flush()
    partial_path(store, upload.id).unlink(missing_ok=True)


def purge_abandoned(store: FileStore, now=None) -> int:
    """Forget uploads with no piece for a day and delete their partial files (set-based);
    then partial files no row knows (a crash between the two). Returns the rows purged."""
    cutoff = (now or utcnow()) - ABANDONED_AFTER
    ids = list(db.session.scalars(
        delete(RecordingUpload).where(RecordingUpload.updated_at < cutoff)
        .returning(RecordingUpload.id)))
    for upload_id in ids:
        partial_path(store, upload_id).unlink(missing_ok=True)
    folder = partial_dir(store)
    if folder.exists():
        known = set(db.session.scalars(select(RecordingUpload.id)))
        for path in folder.iterdir():
            if path.name not in known and path.stat().st_mtime < cutoff.timestamp():
                path.unlink(missing_ok=True)
    return len(ids)

