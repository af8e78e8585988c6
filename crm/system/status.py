"""What the System page and the readiness probe report about the running installation."""

from dataclasses import dataclass, field
from datetime import UTC, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from redis.exceptions import RedisError
from rq import Worker
from rq.cron import CronScheduler
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from crm.clock import utcnow
from crm.cron import RUNNER, Lease
from crm.extensions import db
from crm.queue import QUEUE_NAMES, WORKER_TTL_SECONDS, get_queue, get_redis, redis_url

# A worker reports at least every WORKER_TTL_SECONDS - 15 s idle and 30 s busy; one silent
# longer than this is gone (killed, its host down), whatever its Redis entry still says.
WORKER_SILENT_AFTER = timedelta(seconds=WORKER_TTL_SECONDS + 40)
STUCK_SHOWN = 20

WORKER_STATES = {"idle": _l("Idle"), "busy": _l("Busy"), "started": _l("Starting"),
                 "suspended": _l("Suspended")}


def _ask_database(sql: str):
    # A connection of its own: a failed probe leaves the request's session untouched.
    with db.engine.connect() as connection:
        return connection.execute(text(sql)).scalar()


def database_ok() -> bool:
    try:
        _ask_database("SELECT 1")
        return True
    except SQLAlchemyError:
        return False


def redis_ok() -> bool:
    try:
        return bool(get_redis().ping())
    except (RedisError, OSError):
        return False


def migration_revision() -> str | None:
    try:
        return _ask_database("SELECT version_num FROM alembic_version")
    except SQLAlchemyError:
        return None


@dataclass
class QueueStatus:
    name: str
    queued: int
    started: int
    failed: int
    failed_jobs: list = field(default_factory=list)


@dataclass
class SystemStatus:
    database_backend: str
    database_ok: bool
    migration_revision: str | None
    redis_target: str
    redis_ok: bool
    workers: list = field(default_factory=list)
    cron_schedulers: list = field(default_factory=list)
    cron_leader: str | None = None
    queues: list = field(default_factory=list)
    stuck_recordings: list = field(default_factory=list)
    stuck_count: int = 0
    failed_recordings: int = 0


def _redacted(url: str) -> str:
    # Never show a password that may sit in REDIS_URL.
    if "@" in url:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def collect(failed_limit: int = 20) -> SystemStatus:
    status = SystemStatus(
        database_backend=db.engine.dialect.name,
        database_ok=database_ok(),
        migration_revision=migration_revision(),
        redis_target=_redacted(redis_url(current_app.config)),
        redis_ok=redis_ok(),
    )
    if status.database_ok:
        _recordings(status)
    if not status.redis_ok:
        return status
    connection = get_redis()
    status.workers = live_workers(connection)
    status.cron_schedulers = CronScheduler.all(connection=connection)
    status.cron_leader = Lease(connection).current_holder()
    for name in QUEUE_NAMES:
        queue = get_queue(name)
        failed = FailedJobRegistry(queue=queue)
        # Read more than are shown: jobs whose work succeeded later are left out.
        job_ids = failed.get_job_ids(0, 4 * failed_limit - 1)
        jobs = [job for job in queue.job_class.fetch_many(job_ids, connection=connection)
                if job and not superseded(job)]
        hidden = len(job_ids) - len(jobs)
        status.queues.append(QueueStatus(
            name=name, queued=queue.count, started=queue.started_job_registry.count,
            failed=max(0, failed.count - hidden), failed_jobs=jobs[:failed_limit]))
    return status


def live_workers(connection) -> list:
    """Workers that reported lately; a killed one drops out within two minutes."""
    cutoff = utcnow() - WORKER_SILENT_AFTER
    alive = []
    for worker in Worker.all(connection=connection):
        beat = _aware(worker.last_heartbeat)
        if beat is None or beat >= cutoff:
            alive.append(worker)
    return alive


def _aware(moment):
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _recordings(status: SystemStatus) -> None:
    """Recordings processing for longer than a retry takes, and recent failures."""
    from crm.recordings.models import Recording, RecordingStatus

    now = utcnow()
    cutoff = now - timedelta(seconds=current_app.config["RECORDING_RETRY_AFTER_SECONDS"])
    stuck = (Recording.status == RecordingStatus.PROCESSING, Recording.created_at < cutoff)
    status.stuck_count = db.session.scalar(select(func.count()).select_from(Recording)
                                           .where(*stuck))
    status.stuck_recordings = db.session.execute(
        select(Recording.id, Recording.created_at, Recording.attempts).where(*stuck)
        .order_by(Recording.created_at).limit(STUCK_SHOWN)).all()
    status.failed_recordings = db.session.scalar(
        select(func.count()).select_from(Recording).where(
            Recording.status == RecordingStatus.FAILED,
            Recording.created_at >= now - timedelta(days=7)))


def superseded(job) -> bool:
    """A failed job whose work was done since: its recording is ready (a later attempt made
    it), or its periodic job ran successfully after it failed."""
    try:
        if job.func_name == "crm.recordings.jobs.process_recording" and job.args:
            from crm.recordings.models import Recording, RecordingStatus

            return db.session.scalar(select(Recording.status).where(
                Recording.id == job.args[0])) in (RecordingStatus.READY, None)
        if job.func_name == RUNNER and job.args and job.ended_at is not None:
            from crm.system.models import PeriodicRun

            last = db.session.scalar(select(PeriodicRun.last_run_at).where(
                PeriodicRun.name == job.args[0]))
            return last is not None and last > _aware(job.ended_at)
    except (SQLAlchemyError, TypeError, ValueError, IndexError):
        return False
    return False


def retry_failed_job(queue_name: str, job_id: str) -> bool:
    """Put a failed job back on its queue; False when it is no longer in the failed list."""
    if queue_name not in QUEUE_NAMES:
        return False
    registry = FailedJobRegistry(queue=get_queue(queue_name))
    if job_id not in registry.get_job_ids():
        return False
    registry.requeue(job_id)
    return True
