"""Periodic jobs: one table of them, and exactly one cron process leading at a time."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from rq.cron import CronScheduler

from crm.cron import (
    LEASE_KEY,
    PERIODIC_JOBS,
    RUNNER,
    STANDBY_POLL_SECONDS,
    Lease,
    _import,
    build_scheduler,
)
from crm.queue import get_redis
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parent.parent
# Generous: a busy two-core machine may take many seconds to start a Python process.
STARTUP_SECONDS = 120


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
    # Each runs through run_periodic, which notes its last run in the database.
    assert {job.name for job in scheduler.get_jobs()} == {p for p, _, _ in PERIODIC_JOBS}
    assert {job.func_name for job in scheduler.get_jobs()} == {RUNNER}
    assert {job.args for job in scheduler.get_jobs()} == {(p,) for p, _, _ in PERIODIC_JOBS}


@pytest.mark.committed  # other processes
def test_two_cron_processes_one_leader(app, database_url, redis_url, spawn, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    by_pid = {}
    for n in range(2):
        log = tmp_path / f"cron-{n}.log"
        with log.open("w") as out:  # the child keeps its own copy of the descriptor
            process = spawn([sys.executable, "worker.py", "--cron"], cwd=ROOT, env=env,
                            stdout=out, stderr=subprocess.STDOUT)
        by_pid[process.pid] = (process, log)
    processes = [process for process, _log in by_pid.values()]
    stopped = set()

    def output() -> str:
        return "\n".join(f"--- cron {p.pid}:\n{log.read_text()}" for p, log in by_pid.values())

    def still_running():
        for process in processes:
            if process.pid not in stopped:
                assert process.poll() is None, f"a cron process exited:\n{output()}"

    with app.app_context():
        connection = get_redis()

        def holder():
            still_running()
            value = connection.get(LEASE_KEY)
            return value and int(value.decode().rsplit(":", 1)[1])

        def standing_by(process) -> bool:
            still_running()
            return "standing by" in by_pid[process.pid][1].read_text()

        # One leads; the other has tried, found the lease taken and stands by.
        leader_pid = wait_until(holder, STARTUP_SECONDS, 0.2, "no cron process leads")
        leader, _log = by_pid[leader_pid]
        follower = next(p for p in processes if p is not leader)
        wait_until(lambda: standing_by(follower), STARTUP_SECONDS, 0.2,
                   f"the second cron process never stood by:\n{output()}")
        wait_until(lambda: CronScheduler.all(connection), STARTUP_SECONDS, 0.2,
                   f"the leader registered no scheduler:\n{output()}")
        assert len(CronScheduler.all(connection)) == 1
        assert holder() == leader_pid

        # The leader stops; the follower takes over once the lease is free.
        stopped.add(leader.pid)
        leader.send_signal(signal.SIGTERM)
        assert leader.wait(STARTUP_SECONDS) == 0, output()
        assert wait_until(lambda: connection.get(LEASE_KEY) and holder() == follower.pid,
                          STANDBY_POLL_SECONDS + STARTUP_SECONDS, 0.2,
                          f"the standby cron process never took over:\n{output()}")
        assert follower.poll() is None
