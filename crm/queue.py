"""The Redis connection, the queues, and the one way to enqueue work: after the commit."""

import ctypes
import logging
import os
import signal
import sys
import time
from functools import cache

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker, Worker
from sqlalchemy import event
from sqlalchemy.orm import Session

# Media work (transcoding) has its own queue and its own worker, so reminders, reports and
# sweeps never wait behind a long transcode.
MEDIA_QUEUE = "media"
QUEUE_NAMES = ("default", "reports", MEDIA_QUEUE)
# What `python worker.py` serves unless told otherwise; `--media` serves MEDIA_QUEUE.
GENERAL_QUEUES = ("default", "reports")
# Workers report every this many seconds at most (RQ's default is minutes when idle), so the
# System page drops a dead one within two minutes.
WORKER_TTL_SECONDS = 60
PR_SET_PDEATHSIG = 1
_PENDING_KEY = "crm_pending_jobs"
_COMMITTED_KEY = "crm_committed_transactions"
log = logging.getLogger(__name__)


def redis_url(config) -> str:
    """The configured Redis, or the embedded server's socket in the instance folder."""
    return config.get("REDIS_URL") or f"unix://{config['EMBEDDED_REDIS_SOCKET']}"


@cache
def _connect(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10,
                          health_check_interval=30)


def get_redis() -> Redis:
    # One pool per process and URL; after a fork the pool notices the new pid itself.
    return _connect(redis_url(current_app.config))


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis())


def enqueue_after_commit(func_path: str, *args, queue: str = "default", job_id: str | None = None,
                         **job_options) -> None:
    """Enqueue `func_path(*args)` once the outermost transaction commits; never on rollback.

    Jobs read what they need from the database, so they must not run before it is there.
    A job added inside a savepoint follows the savepoint: dropped if it rolls back, handed to
    the enclosing transaction if it is released.
    """
    from crm.extensions import db

    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback before any query still drops the job
    transaction = session.get_nested_transaction() or session.get_transaction()
    pending = session.info.setdefault(_PENDING_KEY, {})
    pending.setdefault(transaction, []).append((queue, func_path, args, job_id, job_options))


@event.listens_for(Session, "after_commit")
def _remember_commit(session: Session) -> None:
    # Fires for the outermost commit and for a released savepoint; the innermost open
    # transaction at this moment is the one committing.
    if session.info.get(_PENDING_KEY):
        committing = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_COMMITTED_KEY, set()).add(committing)


@event.listens_for(Session, "after_transaction_end")
def _settle_pending(session: Session, transaction) -> None:
    pending = session.info.get(_PENDING_KEY)
    if not pending:
        return
    committed = session.info.get(_COMMITTED_KEY, set())
    was_committed = transaction in committed
    committed.discard(transaction)
    jobs = pending.pop(transaction, [])
    if not jobs or not was_committed:
        return  # rolled back or closed without a commit: the work never happened
    if transaction.parent is not None:
        pending.setdefault(transaction.parent, []).extend(jobs)
        return
    for queue_name, func_path, args, job_id, job_options in jobs:
        try:
            get_queue(queue_name).enqueue(func_path, *args, job_id=job_id, **job_options)
        except RedisError:
            # The change is committed; jobs rebuild their work from the database, so the
            # next sweep catches up. Say so without failing the user's request.
            log.exception("could not enqueue %s after commit", func_path)


def job_monitoring_interval(retry_after: float) -> int:
    """How often a busy worker reports its job alive: often enough that a job silent for
    half the retry setting is surely lost (RQ's default is 30 s)."""
    return int(max(1, min(30, retry_after // 6)))


def die_with_parent() -> None:
    """In a worker's child (its work horse, RQ's scheduler): the kernel kills it when the
    worker dies, even by SIGKILL, so a transcode never outlives its worker as an orphan (the
    job is retried instead). `worker.py` runs it after every fork."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class _AppContextMixin:
    """Run each job inside an app context of the app built once before forking."""

    flask_app = None
    # Between jobs a worker also recovers lost recording jobs (see recover_recordings), at
    # most this often; and always once at start.
    recovery_interval = 60.0
    _last_recovery = None

    def recover(self) -> None:
        from crm.extensions import db
        from crm.recordings.processing import recover_recordings

        now = time.monotonic()
        if self._last_recovery is not None and now - self._last_recovery < self.recovery_interval:
            return
        self._last_recovery = now
        with self.flask_app.app_context():
            try:
                # One worker at a time: two sweeps racing would queue an attempt twice.
                if self.connection.set("crm:recordings:recovery", self.name, nx=True,
                                       ex=max(5, int(self.recovery_interval))):
                    recover_recordings()
                    db.session.commit()
            except Exception:  # noqa: BLE001 - the worker must keep working; said in the log
                db.session.rollback()
                log.exception("recovering recordings failed; trying again later")
            finally:
                db.session.remove()

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        self.recover()

    @property
    def dequeue_timeout(self) -> int:
        # Wake up for the recovery while idle, not only when a job arrives.
        return max(1, min(self.worker_ttl - 15, int(self.recovery_interval)))

    @property
    def should_run_maintenance_tasks(self):
        if super().should_run_maintenance_tasks:
            return True
        return (self._last_recovery is None
                or time.monotonic() - self._last_recovery >= self.recovery_interval)

    def perform_job(self, job, queue):
        with self.flask_app.app_context():
            return super().perform_job(job, queue)

    def main_work_horse(self, job, queue):
        # The forked horse must not reuse the parent's database sockets.
        from crm.extensions import db

        with self.flask_app.app_context():
            db.engine.dispose(close=False)
        _connect.cache_clear()
        return super().main_work_horse(job, queue)


class AppWorker(_AppContextMixin, Worker):
    pass


class AppSimpleWorker(_AppContextMixin, SimpleWorker):
    """Runs jobs in the worker's own process: for tests and burst runs."""


def make_worker(app, *, simple: bool = False, queues=QUEUE_NAMES):
    with app.app_context():
        connection = get_redis()
        worker_class = AppSimpleWorker if simple else AppWorker
        retry_after = app.config["RECORDING_RETRY_AFTER_SECONDS"]
        worker = worker_class([Queue(name, connection=connection) for name in queues],
                              connection=connection,
                              name=f"{os.uname().nodename}.{os.getpid()}",
                              worker_ttl=WORKER_TTL_SECONDS,
                              job_monitoring_interval=job_monitoring_interval(retry_after))
    worker.flask_app = app
    worker.recovery_interval = max(1.0, min(60.0, retry_after / 4))
    return worker
