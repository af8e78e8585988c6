"""`make run`'s supervisor: everything starts, Ctrl-C or a crash leaves no process behind,
and a second start keeps the data.

Each supervisor starts in a session of its own (the `spawn` fixture): whatever a test's
outcome, everything left of that session is stopped when the test ends. Deadlines are
generous, because a busy two-core machine can take a minute to start the whole stack; the
tests wait on conditions, so a quiet machine does not wait longer.
"""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
READY_SECONDS = 240  # the supervisor migrates, seeds and starts four processes
STOP_SECONDS = 120  # it stops them one after another, each allowed 10 + 5 s
GONE_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _child_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _descendants(pid: int) -> set[int]:
    children = _child_map()
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_gone(pids, timeout=GONE_SECONDS):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


class Running:
    def __init__(self, instance: Path, spawn):
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(CRM_INSTANCE_DIR=str(instance), PORT=str(self.port))
        self.log = (instance / f"run-{self.port}.log").open("w+")
        self.process = spawn([sys.executable, "-m", "crm.embedded"], cwd=ROOT,
                             env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def wait_ready(self, timeout=READY_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as r:
                    # The address is printed once the server answers, not before.
                    if (r.status == 200 and len(self.children()) >= 5
                            and "Press Ctrl-C to stop." in self.output()):
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"not ready in time:\n{self.output()}")

    def children(self) -> dict[str, int]:
        """The supervisor's direct children by role, read from their command lines."""
        found = {}
        for pid in _child_map().get(self.process.pid, []):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "redis-server" in cmdline:
                found["redis"] = pid
            elif "worker.py --cron" in cmdline:
                found["cron"] = pid
            elif "worker.py --media" in cmdline:
                found["media"] = pid
            elif "worker.py" in cmdline:
                found["worker"] = pid
            elif "gunicorn" in cmdline:
                found["web"] = pid
        return found


@pytest.fixture
def instance(tmp_path):
    return tmp_path


@pytest.fixture
def start(instance, spawn):
    """Start `make run`'s supervisor on the test's instance folder."""
    return lambda: Running(instance, spawn)


def _user_count(instance: Path) -> int:
    with sqlite3.connect(instance / "crm.sqlite3") as connection:
        return connection.execute("SELECT count(*) FROM users").fetchone()[0]


def test_ctrl_c_stops_everything_and_a_restart_keeps_the_data(instance, start):
    first = start()
    first.wait_ready()
    output = first.output()
    assert f"http://127.0.0.1:{first.port}/" in output
    # A quiet terminal: the access log goes to the instance folder, not between the lines.
    assert '"GET /' not in output
    assert output.index("Starting Field CRM") < output.index("Field CRM is running at")
    assert "rep@demo.local" in output and "demo1234" in output
    assert "Demo data created." in output
    with urllib.request.urlopen(f"http://127.0.0.1:{first.port}/login", timeout=60) as page:
        assert page.status == 200
    everything = _descendants(first.process.pid)
    assert (instance / "redis.aof").exists() or (instance / "appendonlydir").exists()

    first.process.send_signal(signal.SIGINT)
    assert first.process.wait(STOP_SECONDS) == 0
    assert _wait_gone(everything) == []
    users = _user_count(instance)
    assert users > 10

    second = start()
    second.wait_ready()
    assert "Demo data created." not in second.output()
    assert _user_count(instance) == users
    second.process.send_signal(signal.SIGTERM)
    assert second.process.wait(STOP_SECONDS) == 0


def _serves(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as page:
            return page.status == 200
    except OSError:
        return False


def _wait(condition, timeout=READY_SECONDS, message=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(message or "not in time")


def test_a_killed_worker_is_restarted_while_the_site_keeps_serving(start):
    running = start()
    running.wait_ready()
    old = running.children()
    os.kill(old["worker"], signal.SIGKILL)
    assert _serves(running.port)  # pages never needed the worker
    restarted = _wait(lambda: running.children().get("worker") not in (None, old["worker"])
                      and running.children(), message=running.output())
    assert "The worker process was killed by SIGKILL; starting it again" in running.output()
    assert running.process.poll() is None
    # A crashed web server comes back too, and the rest was never stopped.
    os.kill(old["web"], signal.SIGKILL)
    _wait(lambda: running.children().get("web") not in (None, old["web"])
          and _serves(running.port), message=running.output())
    now = running.children()
    assert now["worker"] == restarted["worker"]
    assert now["cron"] == old["cron"] and now["redis"] == old["redis"]
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(STOP_SECONDS) == 0


def test_restarts_back_off_and_a_child_that_keeps_crashing_stops_everything():
    from crm.embedded import RestartPolicy

    policy = RestartPolicy(max_crashes=5, window=60)
    assert [policy.crashed("web", t) for t in (0, 1, 4, 10)] == [1, 2, 4, 8]
    assert policy.crashed("worker", 11) == 1  # each child counts its own crashes
    assert policy.crashed("web", 20) is None  # the fifth within a minute
    calm = RestartPolicy(max_crashes=5, window=60)
    assert [calm.crashed("web", t) for t in (0, 100, 200, 300, 400)] == [1, 1, 1, 1, 1]


def test_a_killed_supervisor_leaves_no_orphans(start):
    running = start()
    running.wait_ready()
    children = running.children()
    assert set(children) == {"redis", "worker", "media", "cron", "web"}
    everything = _descendants(running.process.pid)
    running.process.kill()
    running.process.wait(STOP_SECONDS)
    assert _wait_gone(everything) == []
