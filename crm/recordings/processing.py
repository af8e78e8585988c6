"""The worker's part: turn any upload into AAC every phone browser plays, and measure it.

PyAV carries its own FFmpeg, so a fresh machine needs no system binary. Audio is decoded and
encoded frame by frame; only one loudness number per frame is kept for the waveform.
"""

import logging
import tempfile
from array import array
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
from flask import current_app
from flask_babel import gettext
from rq.job import JobStatus
from sqlalchemy import select, update

from crm.clock import utcnow
from crm.extensions import db
from crm.queue import MEDIA_QUEUE, get_queue, job_monitoring_interval
from crm.recordings.attaching import TRANSCODE_TIMEOUT_SECONDS
from crm.recordings.models import Recording, RecordingStatus
from crm.storage import StoredFile, audio_store

log = logging.getLogger(__name__)

SAMPLE_RATE = 44100
BIT_RATE = 64_000  # speech: small files that start quickly on a weak network
PEAK_SLICES = 240
LEVEL_WINDOW = SAMPLE_RATE // 20  # one loudness figure per 50 ms


class UnplayableAudio(Exception):
    """The file decodes to nothing a person could listen to."""


class TooLong(UnplayableAudio):
    """The audio lasts longer than the longest recording processed (RECORDING_MAX_MINUTES):
    a small file can decode to hours of silence and hold a worker for the job's timeout."""

    def __init__(self, max_seconds: float):
        super().__init__(f"{TOO_LONG}:{round(max_seconds / 60)}")


# Reasons stored as codes, shown in the reader's language (see `failure_reason`).
TOO_LONG = "too-long"
GAVE_UP = "gave-up"


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


def declared_seconds(container, stream) -> float | None:
    """How long the container says the audio lasts (None when it does not say)."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def transcode_to_aac(source: Path, target: Path,
                     max_seconds: float | None = None) -> tuple[float, list[int]]:
    """Write `source` as mono AAC in an M4A file; return its duration and waveform peaks.

    Audio longer than `max_seconds` is refused: from the container's own figure before any
    decoding, and, for a file that does not say or lies, as soon as the decoded audio passes it.
    """
    levels: list[float] = []
    samples = 0
    with av.open(str(source)) as container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise UnplayableAudio("the file has no audio track")
        declared = declared_seconds(container, stream)
        if max_seconds is not None and declared is not None and declared > max_seconds:
            raise TooLong(max_seconds)
        limit_samples = None if max_seconds is None else max_seconds * SAMPLE_RATE
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=SAMPLE_RATE)
        with av.open(str(target), mode="w", format="ipod") as output:
            encoded = output.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
            encoded.bit_rate = BIT_RATE

            def encode(frames):
                nonlocal samples
                for frame in frames:
                    if limit_samples is not None and samples + frame.samples > limit_samples:
                        raise TooLong(max_seconds)
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


def make_playable(original_sha256: str, recording_id: int,
                  max_seconds: float | None = None) -> Outcome:
    """Transcode a stored original; touches no database. A file that cannot be decoded, or
    any other failure, is an outcome too: the card must not say "processing" for ever."""
    store = audio_store()
    source = store.path_for(original_sha256)
    store.incoming_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=store.incoming_dir) as work:
        target = Path(work) / "playable.m4a"
        try:
            duration, peaks = transcode_to_aac(source, target, max_seconds)
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


def job_id(recording_id: int, attempt: int) -> str:
    """One RQ job id per attempt, so a lost attempt's leftovers never touch the next one."""
    return f"recording-{recording_id}-{attempt}"


def enqueue_processing(recording_id: int, attempt: int) -> None:
    """Queue attempt number `attempt` (0 for the first) on the media queue, now."""
    queue = get_queue(MEDIA_QUEUE)
    old = queue.fetch_job(job_id(recording_id, attempt))
    if old is not None:
        old.delete()  # a finished or failed job under this id: make room for a fresh one
    queue.enqueue("crm.recordings.jobs.process_recording", recording_id,
                  job_timeout=TRANSCODE_TIMEOUT_SECONDS, job_id=job_id(recording_id, attempt),
                  result_ttl=3600, failure_ttl=24 * 3600)


def _job_alive(queue, job_key: str, now: datetime, retry_after: float) -> bool:
    """Queued, or running on a worker that still reports it (a recent heartbeat)."""
    job = queue.fetch_job(job_key)
    if job is None:
        return False
    status = job.get_status(refresh=False)
    if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return True
    if status == JobStatus.STARTED:
        beat = job.last_heartbeat or job.started_at
        if beat is not None and beat.tzinfo is None:
            beat = beat.replace(tzinfo=UTC)
        return beat is not None and (now - beat).total_seconds() < stale_after(retry_after)
    return False


def stale_after(retry_after: float) -> float:
    """A running job silent this long lost its worker: half the retry setting, and at least
    four of the worker's heartbeats (see `crm.queue.job_monitoring_interval`)."""
    return max(retry_after / 2, 4 * job_monitoring_interval(retry_after))


def recover_recordings(now: datetime | None = None) -> dict[str, int]:
    """Every recording still processing without a live job gets another attempt; one tried
    RECORDING_MAX_ATTEMPTS times is marked failed with that reason. A live job is one still
    queued or running with a recent heartbeat, so a slow transcode is not sent twice.

    Covers a worker killed mid-job (its heartbeat stops), an enqueue lost while Redis was
    away (no job at all), and Redis losing its data. Run by the cron process every minute and
    by every worker between jobs, so a stopped cron process does not stop recovery.
    Touches only the rows it changes; the caller commits."""
    now = now or utcnow()
    config = current_app.config
    retry_after = config["RECORDING_RETRY_AFTER_SECONDS"]
    max_attempts = config["RECORDING_MAX_ATTEMPTS"]
    # A fresh upload's job is enqueued just after its commit: leave it that moment.
    fresh = now - timedelta(seconds=min(30, retry_after / 2))
    rows = db.session.execute(
        select(Recording.id, Recording.attempts, Recording.started_at)
        .where(Recording.status == RecordingStatus.PROCESSING, Recording.created_at < fresh)
        .order_by(Recording.id).limit(500)).all()
    queue = get_queue(MEDIA_QUEUE)
    counts = {"queued": 0, "failed": 0}
    for recording_id, attempts, started_at in rows:
        if _job_alive(queue, job_id(recording_id, attempts), now, retry_after):
            continue  # queued and not yet begun
        if attempts and _job_alive(queue, job_id(recording_id, attempts - 1), now, retry_after):
            continue  # the current attempt is running
        if started_at is not None and (now - started_at).total_seconds() < stale_after(
                retry_after):
            continue  # an attempt begun a moment ago
        if attempts >= max_attempts:
            log.warning("recording %s: no attempt of %d finished; marked failed", recording_id,
                        attempts)
            give_up(recording_id, attempts)
            counts["failed"] += 1
            continue
        log.info("recording %s: no live job for attempt %d; queued again", recording_id,
                 attempts + 1)
        enqueue_processing(recording_id, attempts)
        counts["queued"] += 1
    if rows:
        log.info("recordings recovered: %s", counts)
    return counts


def give_up(recording_id: int, attempts: int) -> None:
    db.session.execute(
        update(Recording).where(Recording.id == recording_id,
                                Recording.status == RecordingStatus.PROCESSING)
        .values(status=RecordingStatus.FAILED, error=f"{GAVE_UP}:{attempts}"))


def failure_reason(error: str | None) -> str | None:
    """What the rep reads about a failed recording, in their language."""
    if not error:
        return None
    code, _, number = error.partition(":")
    if code == TOO_LONG and number.isdigit():
        return gettext("It lasts longer than %(num)d minutes, the longest recording this "
                       "server processes.", num=int(number))
    if code == GAVE_UP and number.isdigit():
        return gettext("Processing stopped %(num)d times before it finished.", num=int(number))
    return error


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
