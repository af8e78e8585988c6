"""Upload a large recording to a real gunicorn server and print the server's memory growth.

    .venv/bin/python bench/upload.py [--megabytes 100] [--url http://127.0.0.1:5000 --email E]

Without --url it starts its own server (gunicorn, one sync worker, a throwaway SQLite
database and an embedded Redis), makes a rep with a customer and a visit, and uploads a
WAV file of the given size to that visit. It samples the worker's resident memory while the
upload runs and prints the peak growth over the resting figure (target: under 30 MB).
"""

import argparse
import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
PASSWORD = "bench-pass-1"
CHUNK = 256 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found.extend(int(child) for child in children)
    return found


def _prepare(instance: Path, email: str) -> int:
    """A rep, a customer who consented to recordings, and a visit; returns the visit's id."""
    os.environ["CRM_INSTANCE_DIR"] = str(instance)
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from crm import create_app
    from crm.accounts.models import Role
    from crm.accounts.teams import create_team
    from crm.accounts.users import create_user
    from crm.clock import utcnow
    from crm.customers.editing import create_customer
    from crm.extensions import db
    from crm.followups.logging import log_follow_up
    from crm.followups.models import FollowUpKind

    app = create_app()
    with app.app_context():
        upgrade()
        team = create_team("Bench")
        rep = create_user(email=email, name="Bench Rep", role=Role.REP, team=team,
                          password_hash=generate_password_hash(PASSWORD))
        db.session.flush()
        customer = create_customer({"kind": "person", "name": "录音客户", "tier": "general",
                                    "recording_consent": True}, rep, owner=rep)
        visit = log_follow_up(customer, rep, kind=FollowUpKind.VISIT, occurred_at=utcnow(),
                              summary="上门拜访")
        db.session.commit()
        return visit.id


class Session:
    """Just enough of a browser: cookies, a Referer and the CSRF token, over http.client."""

    def __init__(self, base: str):
        parts = urlsplit(base)
        self.base, self.host, self.port = base, parts.hostname, parts.port or 80
        self.cookies: dict[str, str] = {}

    def _connection(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=600)

    def _headers(self, extra=None) -> dict:
        headers = {"Referer": self.base + "/", "Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**headers, **(extra or {})}

    def _keep_cookies(self, response) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]

    def request(self, method: str, path: str, body=None, headers=None):
        connection = self._connection()
        connection.request(method, path, body=body, headers=self._headers(headers))
        response = connection.getresponse()
        data = response.read()
        self._keep_cookies(response)
        connection.close()
        return response.status, data.decode("utf-8", "replace")

    def csrf(self, path: str = "/") -> str:
        _status, page = self.request("GET", path)
        return CSRF_META.search(page).group(1)

    def login(self, email: str) -> None:
        token = self.csrf("/login")
        status, _ = self.request("POST", "/login", urlencode(
            {"csrf_token": token, "email": email, "password": PASSWORD}),
            {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 303:
            raise SystemExit(f"could not sign in as {email} (HTTP {status})")

    def upload(self, path: str, file: Path) -> tuple[int, str]:
        """A multipart POST whose body is streamed from the file with a Content-Length."""
        token = self.csrf()
        boundary = secrets.token_hex(16)
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
                f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; "
                f"filename=\"call.wav\"\r\nContent-Type: audio/wav\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        length = len(head) + file.stat().st_size + len(tail)
        connection = self._connection()
        connection.putrequest("POST", path)
        for name, value in self._headers({
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(length)}).items():
            connection.putheader(name, value)
        connection.endheaders()
        connection.send(head)
        with open(file, "rb") as source:
            while chunk := source.read(CHUNK):
                connection.send(chunk)
        connection.send(tail)
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        connection.close()
        return response.status, body


def _write_wav(path: Path, megabytes: int) -> None:
    """A valid WAV header and `megabytes` of quiet noise, written in chunks."""
    import random
    import struct

    size = megabytes * 1024 * 1024
    rng = random.Random(1)
    with open(path, "wb") as out:
        out.write(b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt "
                  + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
                  + b"data" + struct.pack("<I", size))
        block = bytes(rng.getrandbits(8) & 0x0F for _ in range(CHUNK))
        for _ in range(size // CHUNK):
            out.write(block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=100)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="crm-bench-upload-"))
    instance = work / "instance"
    email = "bench.rep@example.test"
    visit_id = _prepare(instance, email)
    audio = work / "call.wav"
    _write_wav(audio, args.megabytes)

    from crm.embedded import EmbeddedRedis

    redis = EmbeddedRedis(instance)
    redis.start()
    port = _free_port()
    env = {**os.environ, "CRM_INSTANCE_DIR": str(instance), "SECURE_COOKIES": "0",
           "REDIS_URL": redis.url, "RECORDING_MAX_MB": str(args.megabytes + 10)}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "app:app", "-w", "1", "-b", f"127.0.0.1:{port}",
         "--timeout", "600", "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET",
                                                                                 "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        session = Session(base)
        session.login(email)
        session.request("GET", "/customers")  # warm the worker: templates, queries
        [worker] = _children(server.pid)
        resting = _rss_kib(worker)
        peak = resting
        done = threading.Event()

        def sample():
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _rss_kib(worker))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        status, body = session.upload(f"/follow-ups/{visit_id}/recordings", audio)
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        if status != 303:
            raise SystemExit(f"upload failed: HTTP {status}\n{body[:500]}")
        size = audio.stat().st_size / 1024 / 1024
        print(f"uploaded {size:.0f} MB in {elapsed:.2f} s ({size / elapsed:.0f} MB/s)")
        print(f"server worker resident memory: {resting / 1024:.1f} MB at rest, "
              f"peak {peak / 1024:.1f} MB during the upload")
        print(f"peak memory growth: {(peak - resting) / 1024:.1f} MB (target: under 30 MB)")
    finally:
        server.terminate()
        server.wait(10)
        redis.stop()


if __name__ == "__main__":
    main()
