"""The Redis connection, the queues, and the one way to enqueue work: after the commit."""

import os
from functools import cache

from flask import current_app
from redis import Redis
from rq import Queue, SimpleWorker, Worker
from sqlalchemy import event
from sqlalchemy.orm import Session

QUEUE_NAMES = ("default", "reports")
_PENDING_KEY = "crm_pending_jobs"


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
    """Enqueue `func_path(*args)` once the current transaction commits; nothing on rollback.

    Jobs read what they need from the database, so they must not run before it is there.
    """
    from crm.extensions import db

    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback before any query still drops the job
    session.info.setdefault(_PENDING_KEY, []).append(
        (queue, func_path, args, job_id, job_options))


def _flush_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, [])
    for queue_name, func_path, args, job_id, job_options in pending:
        get_queue(queue_name).enqueue(func_path, *args, job_id=job_id, **job_options)


def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


event.listen(Session, "after_commit", _flush_pending)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending_on_rollback(session: Session, previous_transaction) -> None:
    # A rolled-back savepoint keeps the outer transaction's jobs; only the outermost drops them.
    if previous_transaction.parent is None:
        _drop_pending(session)


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
