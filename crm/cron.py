"""Periodic jobs have one home: this table. Exactly one cron process runs it at a time.

Any number of `python worker.py --cron` processes may be started (one per host is fine):
they race for a lease in Redis, one leads and enqueues, the others wait to take over if the
leader stops renewing its lease.

Redis may go away (a restart, a freeze): the process then stops leading, waits with a growing
pause and tries again, rather than exiting. Each job's last run is kept in the database, so a
daily sweep whose minute passed while no process led (the leader died just before it) runs
as soon as a process leads again.
"""

import logging
import os
import signal
import socket
import time
from datetime import datetime

from croniter import croniter
from redis.exceptions import RedisError
from rq.cron import CronScheduler
from sqlalchemy import select

from crm.clock import utcnow
from crm.queue import get_queue, get_redis

log = logging.getLogger(__name__)

LEASE_KEY = "crm:cron:leader"
LEASE_SECONDS = 90
STANDBY_POLL_SECONDS = 5
# After a Redis error: wait this long, doubling up to the most, before trying again.
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0

# (import path, cron expression in UTC, queue). Areas add their sweeps here.
PERIODIC_JOBS = [
    ("crm.accounts.jobs.prune_expired_sessions", "17 3 * * *", "default"),
    # 16:05 UTC is 00:05 in China: protection ends at the start of the day there.
    ("crm.customers.jobs.expire_pool", "5 16 * * *", "default"),
    # Team reports when each team's local schedule says (crm.reports.reports.due_runs).
    ("crm.reports.jobs.schedule_reports", "*/15 * * * *", "reports"),
    # Chunked recording uploads abandoned for a day (issue 13).
    ("crm.recordings.jobs.purge_abandoned_uploads", "41 * * * *", "default"),
    # Reminders: every sweep (idempotent; a missed run is caught up), then due deliveries.
    ("crm.reminders.jobs.run_reminders", "*/10 * * * *", "default"),
    ("crm.reminders.jobs.deliver", "* * * * *", "default"),
    # Feedback past its deadline: the assignee's manager hears once per deadline.
    ("crm.voice.jobs.notify_overdue_feedback", "*/10 * * * *", "default"),
    # Retention (crm.privacy.retention): old audio, old audit events, expired exports.
    ("crm.privacy.jobs.purge_by_retention", "40 18 * * *", "default"),
    # Recordings whose job was lost (a killed worker, Redis away at upload) are sent again;
    # workers do the same between jobs, so this is not the only way back.
    ("crm.recordings.jobs.requeue_stuck", "* * * * *", "default"),
    # Partial uploads left by killed processes, and import previews nobody confirmed.
    ("crm.system.jobs.purge_leftovers", "23 * * * *", "default"),
    # Nightly backup, when BACKUP_FOLDER is set (19:30 UTC is 03:30 in China).
    ("crm.backup.nightly_backup", "30 19 * * *", "default"),
]
RUNNER = "crm.cron.run_periodic"
# Longer than any sweep takes; the nightly backup of a large store needs more than RQ's 3 min.
PERIODIC_TIMEOUT_SECONDS = 2 * 3600


def _import(path: str):
    module_name, _, attr = path.rpartition(".")
    module = __import__(module_name, fromlist=[attr])
    return getattr(module, attr)


def run_periodic(path: str):
    """The job the cron process enqueues: run the periodic function, then note its run in
    the database (the function commits its own work)."""
    from crm.extensions import db
    from crm.system.models import PeriodicRun

    result = _import(path)()
    run = db.session.get(PeriodicRun, path) or PeriodicRun(name=path)
    run.last_run_at = utcnow()
    db.session.add(run)
    db.session.commit()
    return result


def missed_jobs(now: datetime | None = None) -> list[tuple[str, str]]:
    """(path, queue) of the periodic jobs whose latest scheduled time passed after their
    last recorded run (or that never ran): they are run at once."""
    from crm.extensions import db
    from crm.system.models import PeriodicRun

    now = now or utcnow()
    last_runs = dict(db.session.execute(select(PeriodicRun.name, PeriodicRun.last_run_at)).all())
    db.session.rollback()
    missed = []
    for path, expression, queue in PERIODIC_JOBS:
        due = croniter(expression, now).get_prev(datetime)
        last = last_runs.get(path)
        if last is None or last < due:
            missed.append((path, queue))
    return missed


class Lease:
    """A Redis key held with a TTL: whoever sets it first leads until it stops renewing."""

    def __init__(self, connection, key: str = LEASE_KEY, seconds: int = LEASE_SECONDS):
        self.connection, self.key, self.seconds = connection, key, seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}"

    def acquire(self) -> bool:
        return bool(self.connection.set(self.key, self.holder, nx=True, ex=self.seconds))

    def renew(self) -> bool:
        # Renew only if we still hold it; a check-and-set in one server-side step.
        renewed = self.connection.eval(
            "if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('expire', KEYS[1], ARGV[2]) else return 0 end",
            1, self.key, self.holder, self.seconds)
        return bool(renewed)

    def release(self) -> None:
        self.connection.eval(
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
            "else return 0 end", 1, self.key, self.holder)

    def current_holder(self) -> str | None:
        value = self.connection.get(self.key)
        return value.decode() if value else None


def build_scheduler(connection) -> CronScheduler:
    scheduler = CronScheduler(connection=connection, name=f"crm-cron:{socket.gethostname()}")
    runner = _import(RUNNER)
    for path, expression, queue in PERIODIC_JOBS:
        _import(path)  # fail at start, not at 3 a.m., on a wrong path
        scheduler.register(runner, queue_name=queue, args=(path,), cron=expression, name=path,
                           job_timeout=PERIODIC_TIMEOUT_SECONDS)
    return scheduler


def run_cron(poll_seconds: float = 5.0) -> None:
    """Wait for the lease, then enqueue due jobs until told to stop. Redis errors end the
    current turn as leader, never the process: it waits, reconnects and competes again."""
    connection = get_redis()
    lease = Lease(connection)
    stopping = False

    def request_stop(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    pause = RETRY_FIRST_SECONDS
    state = {"standby_announced": False}
    while not stopping:
        try:
            if _lead_while_possible(connection, lease, lambda: stopping, poll_seconds, state):
                pause = RETRY_FIRST_SECONDS
        except RedisError as error:
            log.warning("cron: Redis error (%s); trying again in %.0f s", error, pause)
            _sleep_unless(lambda: stopping, pause)
            pause = min(pause * 2, RETRY_MAX_SECONDS)


def _lead_while_possible(connection, lease, stop, poll_seconds, state) -> bool:
    """One turn: take the lease or stand by; lead until it is lost or we stop. True when the
    turn went without a Redis error."""
    if not lease.acquire():
        if not state["standby_announced"]:
            log.info("cron: %s leads; standing by", lease.current_holder())
            state["standby_announced"] = True
        _sleep_unless(stop, STANDBY_POLL_SECONDS)
        return True
    log.info("cron: leading as %s", lease.holder)
    state["standby_announced"] = False
    scheduler = build_scheduler(connection)
    try:
        scheduler.register_birth()
        _catch_up()
        while not stop():
            if scheduler.enqueue_jobs():
                scheduler.save()
            scheduler.heartbeat()
            if not lease.renew():
                log.warning("cron: lease lost; standing by")
                break
            _sleep_unless(stop, min(poll_seconds, scheduler.calculate_sleep_interval() or 0.1))
    finally:
        # Redis may be the reason we are here: cleaning up must not raise again.
        try:
            scheduler.register_death()
            lease.release()
        except RedisError:
            log.warning("cron: could not unregister (Redis away); the lease expires by itself")
    return True


def _catch_up() -> None:
    """Run at once what was due while no cron process led."""
    try:
        missed = missed_jobs()
    except Exception:  # noqa: BLE001 - the database away: the schedule still runs
        log.exception("cron: could not read the last runs; no catch-up this time")
        return
    for path, queue in missed:
        log.info("cron: %s was due while no cron process led; running it now", path)
        get_queue(queue).enqueue(RUNNER, path, job_timeout=PERIODIC_TIMEOUT_SECONDS)


def _sleep_unless(stop, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop():
        time.sleep(max(0.0, min(0.5, deadline - time.monotonic())))
