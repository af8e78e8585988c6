"""A mixed load on gunicorn as production runs it: requests per second, latency, errors and
the server's peak memory.

    .venv/bin/python bench/load.py [--seconds 30] [--workers 2] [--threads 4] [--clients 6]

Uses the configured database (DATABASE_URL, or SQLite in CRM_INSTANCE_DIR), seeded first
like `flask --app app bench-seed` when it holds no benchmark data. Starts
`gunicorn app:app --workers 2 --threads 4` (the README's production command, two workers)
on a free local port, signs in the demo rep and the demo manager, and has --clients threads
request the pages of bench/pages.py (each user their own) in random order for --seconds,
asking for compressed answers like a browser. Prints req/s, p50, p95, p99, errors and the
peak resident memory of the gunicorn master and workers together. The clients run on the
same two cores as the server, so the figures are a floor.
"""

import argparse
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
if not os.environ.get("DATABASE_URL"):
    os.environ.setdefault("CRM_INSTANCE_DIR", tempfile.mkdtemp(prefix="crm-bench-"))

from pages import MANAGER, OFFICE, PAGES, REP, _busiest_card, _ensure_data  # noqa: E402
from upload import _children, _free_port, _rss_kib  # noqa: E402

CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
BROWSER = {"Accept-Encoding": "gzip, br", "Accept-Language": "zh-CN"}


class Client:
    """Cookies and the CSRF token over http.client, one connection per request."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def get(self, path: str, body=None, method="GET", headers=None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = {**BROWSER, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response.status, data

    def login(self, email: str) -> None:
        _status, page = self.get("/login", headers={"Accept-Encoding": "identity"})
        token = CSRF_META.search(page.decode()).group(1)
        status, _ = self.get("/login", method="POST", body=urlencode(
            {"csrf_token": token, "email": email, "password": "demo1234"}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Referer": f"http://127.0.0.1:{self.port}/login"})
        if status != 303:
            raise SystemExit(f"could not sign in as {email} (HTTP {status})")


def _wait_until_up(port: int, server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn stopped while starting")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--follow-ups", dest="follow_ups", type=int, default=1_000_000)
    args = parser.parse_args()

    from crm import create_app
    from crm.embedded import EmbeddedRedis

    redis = None
    env = {**os.environ, "SECURE_COOKIES": "0"}
    if not os.environ.get("REDIS_URL"):
        redis = EmbeddedRedis(Path(os.environ["CRM_INSTANCE_DIR"]))
        redis.start()
        env["REDIS_URL"] = redis.url
    server = None
    try:
        app = create_app({"SECURE_COOKIES": False})
        _ensure_data(app, args.customers, args.follow_ups)
        card = _busiest_card(app)
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "app:app", "--workers", str(args.workers),
             "--threads", str(args.threads), "--bind", f"127.0.0.1:{port}",
             "--log-level", "warning"], cwd=ROOT, env=env, process_group=0)
        _wait_until_up(port, server)
        users = {}
        for email in (REP, MANAGER):
            users[email] = Client(port)
            users[email].login(email)
        # Each page as its user; office's searches run as the manager on the team tab.
        work = []
        for _name, email, url in PAGES:
            if email == OFFICE:
                email, url = MANAGER, url.replace("tab=all", "tab=team")
            work.append((email, quote(url.format(card=card), safe="/?=&")))
        for email, url in work:  # warm every worker's caches
            for _ in range(args.workers * 2):
                users[email].get(url)

        processes = [server.pid] + _children(server.pid)
        peak = sum(_rss_kib(pid) for pid in processes)
        results: list[tuple[float, int]] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds
        done = threading.Event()

        def sample():
            nonlocal peak
            while not done.is_set():
                peak = max(peak, sum(_rss_kib(pid) for pid in processes))
                time.sleep(0.1)

        def client(seed: int):
            rng = random.Random(seed)
            while time.monotonic() < stop_at:
                email, url = rng.choice(work)
                started = time.perf_counter()
                try:
                    status, _body = users[email].get(url)
                except OSError:
                    status = 0
                with lock:
                    results.append(((time.perf_counter() - started) * 1000, status))

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        done.set()
        sampler.join()

        times = sorted(ms for ms, _status in results)
        errors = sum(1 for _ms, status in results if status != 200)
        quantiles = statistics.quantiles(times, n=100, method="inclusive")
        with app.app_context():
            from crm.extensions import db
            backend = db.engine.dialect.name
        print(f"database: {backend}; gunicorn --workers {args.workers} --threads "
              f"{args.threads}; {args.clients} clients for {elapsed:.0f} s over "
              f"{len(work)} pages")
        print(f"requests: {len(results)}  ({len(results) / elapsed:.1f} req/s)")
        print(f"latency ms: p50 {quantiles[49]:.0f}  p95 {quantiles[94]:.0f}  "
              f"p99 {quantiles[98]:.0f}  max {times[-1]:.0f}")
        print(f"errors: {errors}")
        print(f"server peak memory (master and workers): {peak / 1024:.0f} MB")
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if redis is not None:
            redis.stop()


if __name__ == "__main__":
    main()
