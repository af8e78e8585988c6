"""The Redis connection, the queues, and the one way to enqueue work: after the commit."""

import logging
import os
from functools import cache

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker, Worker
from sqlalchemy import event
from sqlalchemy.orm import Session

QUEUE_NAMES = ("default", "reports")
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


class _AppContextMixin:
    """Run each job inside an app context of the app built once before forking."""

    flask_app = None

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
        worker = worker_class([Queue(name, connection=connection) for name in queues],
                              connection=connection,
                              name=f"{os.uname().nodename}.{os.getpid()}")
    worker.flask_app = app
    return worker
