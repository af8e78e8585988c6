"""What the System page and the readiness probe report about the running installation."""

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l
from redis.exceptions import RedisError
from rq import Worker
from rq.cron import CronScheduler
from rq.registry import FailedJobRegistry
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from crm.cron import Lease
from crm.extensions import db
from crm.queue import QUEUE_NAMES, get_queue, get_redis, redis_url

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
    if not status.redis_ok:
        return status
    connection = get_redis()
    status.workers = Worker.all(connection=connection)
    status.cron_schedulers = CronScheduler.all(connection=connection)
    status.cron_leader = Lease(connection).current_holder()
    for name in QUEUE_NAMES:
        queue = get_queue(name)
        failed = FailedJobRegistry(queue=queue)
        job_ids = failed.get_job_ids(0, failed_limit - 1)
        jobs = [job for job in queue.job_class.fetch_many(job_ids, connection=connection) if job]
        status.queues.append(QueueStatus(
            name=name, queued=queue.count, started=queue.started_job_registry.count,
            failed=failed.count, failed_jobs=jobs))
    return status


def retry_failed_job(queue_name: str, job_id: str) -> bool:
    """Put a failed job back on its queue; False when it is no longer in the failed list."""
    if queue_name not in QUEUE_NAMES:
        return False
    registry = FailedJobRegistry(queue=get_queue(queue_name))
    if job_id not in registry.get_job_ids():
        return False
    registry.requeue(job_id)
    return True
