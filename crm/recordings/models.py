"""A recording attached to a follow-up: the original as uploaded, and a copy every phone plays."""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, BigInteger, FetchedValue, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from crm.clock import utcnow
from crm.columns import UTCDateTime, enum_column
from crm.extensions import db


class RecordingStatus(enum.StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    # The audio was deleted (erasure, withdrawn consent, retention); the row stays so that
    # its reviews' scores keep their place. Its hashes are blank.
    DELETED = "deleted"


STATUS_LABELS = {RecordingStatus.PROCESSING: _l("Processing"),
                 RecordingStatus.READY: _l("Ready"),
                 RecordingStatus.FAILED: _l("Could not be processed"),
                 RecordingStatus.DELETED: _l("Audio deleted")}


class Recording(db.Model):
    __tablename__ = "recordings"
    __table_args__ = (Index("ix_recordings_author_status", "author_id", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id", ondelete="CASCADE"),
                                              index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Whose visit or call it is: the follow-up's author, set by the database on insert
    # (0020_recording_author). The review queue reads a team's recordings through it.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"),
                                                  server_default=FetchedValue())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The original, kept as it came (sniffed type, not the name's), under its content hash.
    original_sha256: Mapped[str] = mapped_column(String(64))
    original_size: Mapped[int] = mapped_column(BigInteger)
    original_type: Mapped[str] = mapped_column(String(40))
    # The AAC copy the worker makes; None until it is done.
    playable_sha256: Mapped[str | None] = mapped_column(String(64))
    playable_size: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[RecordingStatus] = mapped_column(
        enum_column(RecordingStatus, name="recording_status"), default=RecordingStatus.PROCESSING,
        index=True)
    # Processing attempts so far and when the latest began: a lost job is retried, and after
    # too many attempts the recording is marked failed with the reason.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(300))
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    # A waveform summary: loudness 0–100 per slice, evenly over the duration.
    peaks: Mapped[list[int] | None] = mapped_column(JSON)
    # Consent given at upload (when the customer's card does not record it already).
    consent_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    consent_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    follow_up = relationship("FollowUp", back_populates="recordings")
    uploaded_by = relationship("User", foreign_keys=[uploaded_by_id])
    consent_confirmed_by = relationship("User", foreign_keys=[consent_confirmed_by_id])

    @property
    def is_ready(self) -> bool:
        return self.status == RecordingStatus.READY

    @property
    def waveform_path(self) -> str:
        """The waveform's bars as one SVG path (one element, not a <rect> per slice): bar i
        spans x i to i + 0.7, centred on the middle line, at least 2 high."""
        bars = []
        for x, peak in enumerate(self.peaks or ()):
            height = max(int(peak), 2)
            bars.append(f"M{x} {(100 - height) / 2:g}h.7v{height}h-.7z")
        return "".join(bars)


def recordings_as_shown():
    """Loader option for follow-up lists: their recordings and who confirmed consent, in one
    query whatever the number of follow-ups."""
    from crm.followups.models import FollowUp

    return selectinload(FollowUp.recordings).joinedload(Recording.consent_confirmed_by)


class RecordingUpload(db.Model):
    """A recording arriving in chunks (issue 13): the partial file lives under the store's
    `partial/` folder named by this id; the row says whose it is, for which follow-up, how
    big it will be and whether consent was confirmed. Deleted when the file is complete and
    attached, or by the purge job when abandoned."""

    __tablename__ = "recording_uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id", ondelete="CASCADE"),
                                              index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    audio_type: Mapped[str | None] = mapped_column(String(40))
    consent_confirmed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    follow_up = relationship("FollowUp")
