"""Periodic jobs: one table of them, and exactly one cron process leading at a time."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rq.cron import CronScheduler

from crm.cron import LEASE_KEY, PERIODIC_JOBS, Lease, _import, build_scheduler
from crm.queue import get_redis

ROOT = Path(__file__).resolve().parent.parent


def test_lease_has_one_holder(app):
    with app.app_context():
        connection = get_redis()
        first, second = Lease(connection), Lease(connection)
        second.holder = "other-host:1"
        assert first.acquire()
        assert not second.acquire()
        assert first.renew() and not second.renew()
        second.release()  # not the holder: nothing happens
        assert first.current_holder() == first.holder
        first.release()
        assert second.acquire()


def test_every_periodic_job_imports_and_registers(app):
    for path, _expression, _queue in PERIODIC_JOBS:
        assert callable(_import(path))
    with app.app_context():
        scheduler = build_scheduler(get_redis())
    assert {job.func_name for job in scheduler.get_jobs()} == {p for p, _, _ in PERIODIC_JOBS}


def test_two_cron_processes_one_leader(app, database_url, redis_url):
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    processes = [subprocess.Popen([sys.executable, "worker.py", "--cron"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for _ in range(2)]
    try:
        with app.app_context():
            connection = get_redis()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not CronScheduler.all(connection):
                time.sleep(0.2)
            time.sleep(1)  # give the second process time to (wrongly) start leading
            assert len(CronScheduler.all(connection)) == 1
            holder = connection.get(LEASE_KEY).decode()
            leader = next(p for p in processes if holder.endswith(f":{p.pid}"))
            follower = next(p for p in processes if p is not leader)

            # The leader stops; the follower takes over once the lease is free.
            leader.send_signal(signal.SIGTERM)
            assert leader.wait(15) == 0
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline:
                value = connection.get(LEASE_KEY)
                if value and value.decode().endswith(f":{follower.pid}"):
                    break
                time.sleep(0.5)
            else:
                raise AssertionError("the standby cron process never took over")
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(15)
