"""Recordings: real audio made in the test, uploaded as a phone sends it, processed by a real
RQ worker on the real Redis, and played back with Range requests."""

import hashlib
import io
import json

import pytest
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select

from crm.customers.models import Customer
from crm.extensions import db
from crm.queue import MEDIA_QUEUE, QUEUE_NAMES, get_queue, make_worker
from crm.recordings.attaching import TRANSCODE_TIMEOUT_SECONDS
from crm.recordings.models import Recording, RecordingStatus
from crm.recordings.samples import write_sample
from crm.storage import audio_store

# Every test here works on the world's recording (or reviews of it).
pytestmark = pytest.mark.recording

EN = {"Accept-Language": "en"}
JSON = {"Accept": "application/json", "Accept-Language": "en"}


@pytest.fixture
def scratch(tmp_path):
    return tmp_path


def _upload(client, follow_up_id, content: bytes, name: str, consent=True, headers=EN):
    data = {"audio": (io.BytesIO(content), name)}
    if consent:
        data["consent"] = "y"
    return client.post_form(f"/follow-ups/{follow_up_id}/recordings", data, headers=headers)


def _recordings(app) -> list[Recording]:
    with app.app_context():
        return db.session.scalars(select(Recording).order_by(Recording.id)).all()


def _new_ones(app, world) -> list[Recording]:
    return [r for r in _recordings(app) if r.id != world.recording]


def _stored_files(app) -> set[str]:
    with app.app_context():
        root = audio_store().root
    return {p.name for p in root.rglob("*") if p.is_file() and p.parent.name != "incoming"}


def _incoming_leftovers(app) -> list:
    with app.app_context():
        folder = audio_store().incoming_dir
    return [p for p in folder.iterdir() if p.is_file()] if folder.exists() else []


def _run_worker(app) -> int:
    """Run the queued jobs in a real worker; return how many failed."""
    make_worker(app, simple=True).work(burst=True)
    with app.app_context():
        return sum(FailedJobRegistry(queue=get_queue(name)).count for name in QUEUE_NAMES)


@pytest.mark.parametrize("kind, name, sniffed", [
    ("wav", "visit.wav", "audio/wav"),
    ("ogg", "voice-note.ogg", "audio/ogg"),
    ("m4a", "新录音 12.m4a", "audio/mp4"),
    ("mp3", "call.mp3", "audio/mpeg"),
    ("webm", "recording.webm", "audio/webm"),
    ("3gp", "call_13800138000.3gp", "audio/3gpp"),
    ("amr", "通话录音.amr", "audio/amr"),
])
def test_phone_formats_are_stored_and_made_playable(app, world, login_as, scratch, kind, name,
                                                     sniffed):
    content = write_sample(scratch / f"in.{kind}", kind, seconds=2.0).read_bytes()
    rep = login_as("rep")
    response = _upload(rep, world.ride_along, content, name)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(
        f"/customers/{world.customers.rep}#follow-up-{world.ride_along}")
    [recording] = _new_ones(app, world)
    assert recording.original_type == sniffed
    assert recording.original_sha256 == hashlib.sha256(content).hexdigest()
    assert recording.original_size == len(content)
    assert recording.status == RecordingStatus.PROCESSING
    with app.app_context():
        stored = audio_store().path_for(recording.original_sha256)
    assert stored.read_bytes() == content
    card = rep.get(f"/customers/{world.customers.rep}", headers=EN).get_data(as_text=True)
    assert "processing" in card and f'hx-get="/recordings/{recording.id}"' in card

    assert _run_worker(app) == 0
    [recording] = _new_ones(app, world)
    assert recording.status == RecordingStatus.READY, recording.error
    assert recording.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert 20 <= len(recording.peaks) <= 240 and max(recording.peaks) == 100
    with app.app_context():
        playable = audio_store().path_for(recording.playable_sha256).read_bytes()
    assert playable[4:12] == b"ftypM4A "  # AAC in MP4: every phone browser plays it

    fragment = rep.get(f"/recordings/{recording.id}", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert f'src="/recordings/{recording.id}/audio"' in html and "hx-trigger" not in html
    assert "0:02" in html and 'data-waveform=' in html


def test_the_card_plays_the_recording_on_the_timeline(app, world, login_as):
    manager = login_as("manager")
    card = manager.get(f"/customers/{world.customers.rep}").get_data(as_text=True)
    timeline = card.split('id="timeline"')[1]
    assert f'<audio controls preload="none" src="/recordings/{world.recording}/audio"' \
        in timeline


def test_audio_is_served_with_ranges_and_private_caching(app, world, login_as):
    rep = login_as("rep")
    whole = rep.get(f"/recordings/{world.recording}/audio")
    assert whole.status_code == 200 and whole.mimetype == "audio/mp4"
    body = whole.get_data()
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Cache-Control"] == "private, max-age=3600"

    part = rep.get(f"/recordings/{world.recording}/audio", headers={"Range": "bytes=100-1123"})
    assert part.status_code == 206
    assert part.get_data() == body[100:1124]
    assert part.headers["Content-Range"] == f"bytes 100-1123/{len(body)}"
    assert part.headers["Cache-Control"] == "private, max-age=3600"

    tail = rep.get(f"/recordings/{world.recording}/audio", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.get_data() == body[-10:]
    beyond = rep.get(f"/recordings/{world.recording}/audio",
                     headers={"Range": f"bytes={len(body) + 5}-"})
    assert beyond.status_code == 416


def test_the_original_downloads_as_uploaded(app, world, login_as):
    rep = login_as("rep")
    response = rep.get(f"/recordings/{world.recording}/original")
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    assert response.headers["Content-Disposition"].startswith("attachment")
    [recording] = [r for r in _recordings(app) if r.id == world.recording]
    assert hashlib.sha256(response.get_data()).hexdigest() == recording.original_sha256


@pytest.mark.parametrize("content, name", [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000, "photo.m4a"),
    (b"%PDF-1.7\n" + b"x" * 2000, "contract.mp3"),
    (b"PK\x03\x04" + b"\x00" * 2000, "report.wav"),
    (b"just some text that someone renamed\n" * 50, "notes.amr"),
])
def test_a_renamed_file_that_is_not_audio_is_refused(app, world, login_as, content, name):
    before = _stored_files(app)
    rep = login_as("rep")
    response = _upload(rep, world.ride_along, content, name)
    assert response.status_code == 415
    assert "This file is not a recording we can play" in response.get_data(as_text=True)
    assert _new_ones(app, world) == []
    assert _stored_files(app) == before and _incoming_leftovers(app) == []


def test_an_oversized_file_is_refused_with_413_before_it_is_stored(app, world, login_as,
                                                                   scratch):
    app.config["RECORDING_MAX_BYTES"] = 200 * 1024
    before = _stored_files(app)
    rep = login_as("rep")
    # Far over the limit: refused from the Content-Length, before the body is read.
    response = _upload(rep, world.ride_along, b"RIFF" + b"\x00" * (400 * 1024), "long.wav")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "larger than 0 MB" not in page and "The recording is larger than" in page
    assert 'name="audio"' in page  # the upload form again, to pick another file
    # Just over the limit (the request itself fits with its form around it).
    content = write_sample(scratch / "just-over.wav", "wav", seconds=7.0).read_bytes()
    assert 200 * 1024 < len(content) < 200 * 1024 + 64 * 1024
    response = _upload(rep, world.ride_along, content, "long.wav", headers=JSON)
    assert response.status_code == 413
    assert "larger than" in response.get_json()["error"]
    assert _new_ones(app, world) == []
    assert _stored_files(app) == before and _incoming_leftovers(app) == []


def test_who_may_not_add_a_recording_cannot_send_a_large_body(app, world, login_as):
    """The large limit is only for those who may add to the follow-up; anyone else keeps the
    ordinary form limit, so the server never writes their big body to disk."""
    rep2 = login_as("rep2")
    big = rep2.post_form(f"/follow-ups/{world.ride_along}/recordings",
                         {"audio": (io.BytesIO(b"RIFF" + b"\x00" * (3 * 1024 * 1024)),
                                    "x.wav")})
    assert big.status_code == 413
    assert 'name="audio"' not in big.get_data(as_text=True)  # the plain error page
    small = _upload(rep2, world.ride_along, b"RIFF" + b"\x00" * 1000, "x.wav")
    assert small.status_code == 404
    assert _new_ones(app, world) == []


def test_recordings_of_a_pool_customer_are_heard_only_by_office_and_admin(app, world,
                                                                          login_as):
    rep = login_as("rep")
    assert rep.post_form(f"/customers/{world.customers.rep}/release", {
        "reason": "联系不上", "version": str(world.version_of(world.customers.rep))}
    ).status_code == 303
    for role in ("rep", "rep2", "manager"):
        client = login_as(role)
        assert client.get(f"/recordings/{world.recording}/audio").status_code == 404
        assert client.get(f"/recordings/{world.recording}/original").status_code == 404
        card = client.get(f"/customers/{world.customers.rep}", headers=EN)
        html = card.get_data(as_text=True)
        assert "heard once the customer is claimed" in html
        assert f"/recordings/{world.recording}/audio" not in html
    assert login_as("office").get(f"/recordings/{world.recording}/audio").status_code == 200


def test_recordings_whose_job_was_lost_are_queued_again(app, world, login_as, scratch):
    from datetime import timedelta

    from crm.clock import utcnow
    from crm.recordings.jobs import requeue_stuck
    from crm.recordings.processing import recover_recordings

    content = write_sample(scratch / "lost.wav", "wav", seconds=0.5).read_bytes()
    _upload(login_as("rep"), world.ride_along, content, "lost.wav")
    [recording] = _new_ones(app, world)
    later = utcnow() + timedelta(minutes=1)
    with app.app_context():
        assert requeue_stuck() == 0  # too recent: its job may still be on its way
        assert recover_recordings(now=later)["queued"] == 0  # its job is queued
        for job in get_queue(MEDIA_QUEUE).jobs:
            job.delete()  # the job is lost
        assert recover_recordings(now=later)["queued"] == 1
        assert recover_recordings(now=later)["queued"] == 0  # queued again, once
    assert _run_worker(app) == 0
    [recording] = _new_ones(app, world)
    assert recording.status == RecordingStatus.READY


def test_a_corrupt_file_fails_with_the_reason_and_keeps_the_original(app, world, login_as,
                                                                      scratch):
    good = write_sample(scratch / "good.m4a", "m4a", seconds=2.0).read_bytes()
    corrupt = good[:40] + bytes(range(256)) * 40  # an M4A header, then garbage
    rep = login_as("rep")
    assert _upload(rep, world.ride_along, corrupt, "broken.m4a").status_code == 303
    _run_worker(app)
    [recording] = _new_ones(app, world)
    assert recording.status == RecordingStatus.FAILED
    assert recording.error and recording.playable_sha256 is None
    card = rep.get(f"/customers/{world.customers.rep}", headers=EN).get_data(as_text=True)
    assert "Could not be processed" in card
    assert f"/recordings/{recording.id}/original" in card
    original = rep.get(f"/recordings/{recording.id}/original")
    assert original.status_code == 200 and original.get_data() == corrupt
    assert rep.get(f"/recordings/{recording.id}/audio").status_code == 404


def test_the_job_failure_path_through_the_worker_leaves_no_failed_job(app, world, login_as):
    rep = login_as("rep")
    _upload(rep, world.ride_along, b"OggS" + b"\x00" * 24 + b"OpusHead" + b"\x01" * 3000,
            "broken.ogg")
    [recording] = _new_ones(app, world)
    with app.app_context():
        [job] = [job for job in get_queue(MEDIA_QUEUE).jobs if job.args == (recording.id,)]
    assert job.func_name == "crm.recordings.jobs.process_recording"
    assert job.timeout == TRANSCODE_TIMEOUT_SECONDS  # long calls outlast RQ's default
    assert _run_worker(app) == 0  # the job itself succeeded: it recorded the failure
    [recording] = _new_ones(app, world)
    assert recording.status == RecordingStatus.FAILED


def test_recording_needs_consent(app, world, login_as, scratch):
    content = write_sample(scratch / "c.wav", "wav", seconds=0.5).read_bytes()
    rep = login_as("rep")
    refused = _upload(rep, world.ride_along, content, "c.wav", consent=False)
    assert refused.status_code == 422
    assert "Confirm that the customer agreed to be recorded" in refused.get_data(as_text=True)
    assert _new_ones(app, world) == []

    assert _upload(rep, world.ride_along, content, "c.wav").status_code == 303
    [confirmed] = _new_ones(app, world)
    assert confirmed.consent_confirmed_by_id == world.rep.id
    assert confirmed.consent_confirmed_at is not None

    with app.app_context():
        db.session.get(Customer, world.customers.rep).recording_consent = True
        db.session.commit()
    form = rep.get(f"/follow-ups/{world.ride_along}/recordings/new").get_data(as_text=True)
    assert 'name="consent"' not in form
    assert _upload(rep, world.ride_along, content, "c.wav", consent=False).status_code == 303
    on_the_card = _new_ones(app, world)[-1]
    assert on_the_card.consent_confirmed_by_id is None


def test_the_same_bytes_are_stored_once(app, world, login_as, scratch):
    content = write_sample(scratch / "twice.wav", "wav", seconds=0.5).read_bytes()
    rep = login_as("rep")
    _upload(rep, world.ride_along, content, "a.wav")
    before = _stored_files(app)
    _upload(rep, world.ride_along, content, "b.wav")
    first, second = _new_ones(app, world)
    assert first.original_sha256 == second.original_sha256
    assert _stored_files(app) == before


def test_notes_first_then_the_audio_by_its_own_request(app, world, login_as, scratch):
    """What the page's script does: save the notes, get the upload address, send the audio;
    a failed audio upload leaves the notes saved and can be retried alone."""
    from tests.test_followups import _local

    rep = login_as("rep")
    from crm.clock import utcnow

    saved = rep.post_form(f"/customers/{world.customers.rep}/follow-ups",
                          {"kind": "call", "occurred_at": _local(utcnow()),
                           "summary": "电话沟通报价"}, headers=JSON)
    assert saved.status_code == 201
    answer = saved.get_json()
    follow_up_id = int(answer["upload_url"].split("/")[2])
    assert answer["redirect"].endswith(f"#follow-up-{follow_up_id}")

    broken = rep.post_form(answer["upload_url"], {"audio": (io.BytesIO(b"not audio"), "x.m4a"),
                                                   "consent": "y"}, headers=JSON)
    assert broken.status_code == 415 and "not a recording" in broken.get_json()["error"]
    with app.app_context():
        from crm.followups.models import FollowUp

        assert db.session.get(FollowUp, follow_up_id).summary == "电话沟通报价"

    content = write_sample(scratch / "retry.ogg", "ogg", seconds=0.5).read_bytes()
    retried = rep.post_form(answer["upload_url"],
                            {"audio": (io.BytesIO(content), "retry.ogg"), "consent": "y"},
                            headers=JSON)
    assert retried.status_code == 201
    assert json.loads(retried.get_data())["redirect"] == answer["redirect"]
    assert [r.follow_up_id for r in _new_ones(app, world)] == [follow_up_id]


def test_without_script_save_then_add_a_recording(app, world, login_as):
    from tests.test_followups import _log

    rep = login_as("rep")
    response = _log(rep, world.customers.rep, then="recording")
    assert response.status_code == 303 and "/recordings/new" in response.headers["Location"]
    page = rep.get(response.headers["Location"]).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'accept="audio/*"' in page
    assert "capture" in page


def test_the_log_form_offers_the_recording_to_the_script(app, world, login_as):
    rep = login_as("rep")
    page = rep.get(f"/customers/{world.customers.rep}/follow-ups/new").get_data(as_text=True)
    picker = page.split("data-recording-picker")[1].split("</fieldset>")[0]
    assert "hidden disabled" in picker  # without the script it is neither shown nor sent
    assert 'type="file"' in picker and 'accept="audio/*"' in picker
    assert "data-recorder" in picker and "data-upload-progress" in picker


def test_the_card_timeline_stays_a_constant_number_of_queries(app, world, login_as, scratch):
    from tests.conftest import count_queries

    manager = login_as("manager")
    url = f"/customers/{world.customers.rep}"
    manager.get(url)
    with count_queries(app) as few:
        manager.get(url)
    # Uploaded (and consent confirmed) by different people, none of them the viewer.
    for n, who in enumerate(("rep", "office", "region_manager")):
        content = write_sample(scratch / f"q{n}.wav", "wav", seconds=0.3, seed=n).read_bytes()
        assert _upload(login_as(who), world.ride_along, content, "q.wav").status_code == 303
    assert _run_worker(app) == 0  # ready: the player shows who confirmed consent
    rep = login_as("rep")
    from tests.test_followups import _log

    _log(rep, world.customers.rep)
    with count_queries(app) as many:
        manager.get(url)
    assert many.count == few.count


def test_uploads_stream_into_the_store_not_into_memory(app, world, login_as, scratch):
    """Werkzeug writes the upload straight into the store's own temporary file."""
    from crm.storage import IncomingFile

    seen = []
    original = IncomingFile.write

    def spy(self, data):
        seen.append(len(data))
        return original(self, data)

    content = write_sample(scratch / "stream.wav", "wav", seconds=3.0).read_bytes()
    rep = login_as("rep")
    IncomingFile.write = spy
    try:
        assert _upload(rep, world.ride_along, content, "s.wav").status_code == 303
    finally:
        IncomingFile.write = original
    assert sum(seen) == len(content) and len(seen) > 1  # in chunks, not one piece
    assert _incoming_leftovers(app) == []


def test_recordings_of_other_teams_are_invisible(app, world, login_as):
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Recording))
    assert total == 1
    for role in ("rep2", "rep3", "manager2"):
        client = login_as(role)
        assert client.get(f"/recordings/{world.recording}/audio").status_code == 404
        assert client.get(f"/recordings/{world.recording}").status_code == 404
