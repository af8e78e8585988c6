"""Periodic jobs have one home: this table. Exactly one cron process runs it at a time.

Any number of `python worker.py --cron` processes may be started (one per host is fine):
they race for a lease in Redis, one leads and enqueues, the others wait to take over if the
leader stops renewing its lease.
"""

import logging
import os
import signal
import socket
import time

from rq.cron import CronScheduler

from crm.queue import get_redis

log = logging.getLogger(__name__)

LEASE_KEY = "crm:cron:leader"
LEASE_SECONDS = 90
STANDBY_POLL_SECONDS = 5

# (import path, cron expression in UTC, queue). Areas add their sweeps here.
PERIODIC_JOBS = [
    ("crm.accounts.jobs.prune_expired_sessions", "17 3 * * *", "default"),
    # 16:05 UTC is 00:05 in China: protection ends at the start of the day there.
    ("crm.customers.jobs.expire_pool", "5 16 * * *", "default"),
    # Recordings whose job was lost (a killed worker, Redis away at upload) are sent again.
    ("crm.recordings.processing.requeue_stuck", "*/15 * * * *", "default"),
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
]


def _import(path: str):
    module_name, _, attr = path.rpartition(".")
    module = __import__(module_name, fromlist=[attr])
    return getattr(module, attr)


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
    for path, expression, queue in PERIODIC_JOBS:
        scheduler.register(_import(path), queue_name=queue, cron=expression)
    return scheduler


def run_cron(poll_seconds: float = 5.0) -> None:
    """Wait for the lease, then enqueue due jobs until told to stop or the lease is lost."""
    connection = get_redis()
    lease = Lease(connection)
    stopping = False

    def request_stop(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    announced_standby = False
    while not stopping:
        if not lease.acquire():
            if not announced_standby:
                log.info("cron: %s leads; standing by", lease.current_holder())
                announced_standby = True
            _sleep_unless(lambda: stopping, STANDBY_POLL_SECONDS)
            continue
        log.info("cron: leading as %s", lease.holder)
        announced_standby = False
        scheduler = build_scheduler(connection)
        scheduler.register_birth()
        try:
            while not stopping:
                if scheduler.enqueue_jobs():
                    scheduler.save()
                scheduler.heartbeat()
                if not lease.renew():
                    log.warning("cron: lease lost; standing by")
                    break
                _sleep_unless(lambda: stopping, min(poll_seconds,
                                                    scheduler.calculate_sleep_interval() or 0.1))
        finally:
            scheduler.register_death()
            lease.release()


def _sleep_unless(stop, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop():
        time.sleep(min(0.5, deadline - time.monotonic()))
