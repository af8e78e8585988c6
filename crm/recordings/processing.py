"""The worker's part: turn any upload into AAC every phone browser plays, and measure it.

PyAV carries its own FFmpeg, so a fresh machine needs no system binary. Audio is decoded and
encoded frame by frame; only one loudness number per frame is kept for the waveform.
"""

import logging
import tempfile
from array import array
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
from sqlalchemy import select

from crm.clock import utcnow
from crm.extensions import db
from crm.queue import get_queue
from crm.recordings.attaching import TRANSCODE_TIMEOUT_SECONDS
from crm.recordings.models import Recording, RecordingStatus
from crm.storage import StoredFile, audio_store

log = logging.getLogger(__name__)

SAMPLE_RATE = 44100
BIT_RATE = 64_000  # speech: small files that start quickly on a weak network
PEAK_SLICES = 240
# Longer than a transcode may take (its job timeout), so a slow job is not sent twice.
STUCK_AFTER = timedelta(seconds=TRANSCODE_TIMEOUT_SECONDS + 10 * 60)
LEVEL_WINDOW = SAMPLE_RATE // 20  # one loudness figure per 50 ms


class UnplayableAudio(Exception):
    """The file decodes to nothing a person could listen to."""


def _frame_levels(frame) -> list[float]:
    # Planar float, one channel: the plane holds the samples (plus padding).
    samples = array("f")
    samples.frombytes(bytes(frame.planes[0])[:frame.samples * samples.itemsize])
    windows = (samples[i:i + LEVEL_WINDOW] for i in range(0, len(samples), LEVEL_WINDOW))
    return [max(max(window), -min(window)) for window in windows]


def summarise_levels(levels: list[float], slices: int = PEAK_SLICES) -> list[int]:
    """Loudness 0–100 in `slices` even steps (fewer for a very short file), loudest = 100."""
    if not levels:
        return []
    count = min(slices, len(levels))
    buckets = [max(levels[i * len(levels) // count:(i + 1) * len(levels) // count])
               for i in range(count)]
    loudest = max(buckets)
    if loudest <= 0:
        return [0] * count
    return [round(100 * level / loudest) for level in buckets]


def transcode_to_aac(source: Path, target: Path) -> tuple[float, list[int]]:
    """Write `source` as mono AAC in an M4A file; return its duration and waveform peaks."""
    levels: list[float] = []
    samples = 0
    with av.open(str(source)) as container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise UnplayableAudio("the file has no audio track")
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=SAMPLE_RATE)
        with av.open(str(target), mode="w", format="ipod") as output:
            encoded = output.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
            encoded.bit_rate = BIT_RATE

            def encode(frames):
                nonlocal samples
                for frame in frames:
                    # Our own clock, in samples: inputs' timestamps may be missing or odd.
                    frame.pts = samples
                    frame.time_base = Fraction(1, SAMPLE_RATE)
                    samples += frame.samples
                    levels.extend(_frame_levels(frame))
                    for packet in encoded.encode(frame):
                        output.mux(packet)

            for frame in container.decode(stream):
                frame.pts = None  # the resampler must not try to fill gaps in the input
                encode(resampler.resample(frame))
            encode(resampler.resample(None))
            for packet in encoded.encode(None):
                output.mux(packet)
    if samples == 0:
        raise UnplayableAudio("no audio could be decoded")
    return samples / SAMPLE_RATE, summarise_levels(levels)


@dataclass
class Outcome:
    """What processing made of an original: a playable copy, or the reason it failed."""

    status: RecordingStatus
    error: str | None = None
    playable: StoredFile | None = None
    duration_seconds: float | None = None
    peaks: list[int] | None = None


def make_playable(original_sha256: str, recording_id: int) -> Outcome:
    """Transcode a stored original; touches no database. A file that cannot be decoded, or
    any other failure, is an outcome too: the card must not say "processing" for ever."""
    store = audio_store()
    source = store.path_for(original_sha256)
    store.incoming_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=store.incoming_dir) as work:
        target = Path(work) / "playable.m4a"
        try:
            duration, peaks = transcode_to_aac(source, target)
        except (av.FFmpegError, UnplayableAudio) as error:
            # The original stays stored: it can be downloaded, or processed again later.
            log.info("recording %s could not be decoded: %s", recording_id, _reason(error))
            return Outcome(RecordingStatus.FAILED, error=_reason(error))
        except Exception as error:
            log.exception("recording %s failed in processing", recording_id)
            return Outcome(RecordingStatus.FAILED, error=_reason(error))
        return Outcome(RecordingStatus.READY, playable=store.keep_path(target),
                       duration_seconds=duration, peaks=peaks)


def apply_outcome(recording: Recording, outcome: Outcome) -> None:
    recording.status = outcome.status
    recording.error = outcome.error
    if outcome.playable is not None:
        recording.playable_sha256 = outcome.playable.sha256
        recording.playable_size = outcome.playable.size
        recording.duration_seconds = outcome.duration_seconds
        recording.peaks = outcome.peaks


def requeue_stuck(now: datetime | None = None) -> int:
    """Queue again every recording still processing long after its upload: the job was lost
    (a killed worker, Redis away at the commit). Processing is idempotent."""
    cutoff = (now or utcnow()) - STUCK_AFTER
    stuck = db.session.scalars(
        select(Recording.id).where(Recording.status == RecordingStatus.PROCESSING,
                                   Recording.created_at < cutoff).limit(500)).all()
    for recording_id in stuck:
        get_queue().enqueue("crm.recordings.jobs.process_recording", recording_id,
                            job_timeout=TRANSCODE_TIMEOUT_SECONDS,
                            job_id=f"recording-{recording_id}-retry")
    return len(stuck)


def copy_from_twin(recording: Recording) -> bool:
    """The same bytes were processed before (a file sent twice): reuse that result."""
    twin = db.session.scalars(
        select(Recording).where(Recording.original_sha256 == recording.original_sha256,
                                Recording.status == RecordingStatus.READY,
                                Recording.id != recording.id).limit(1)).first()
    if twin is None:
        return False
    recording.playable_sha256 = twin.playable_sha256
    recording.playable_size = twin.playable_size
    recording.duration_seconds = twin.duration_seconds
    recording.peaks = twin.peaks
    recording.status = RecordingStatus.READY
    return True


def _reason(error: Exception) -> str:
    # FFmpeg errors carry the file name; the reason alone is what the user needs.
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return text[:300]
