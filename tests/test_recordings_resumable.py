"""Recordings sent in chunks: resumed from the confirmed byte, pieces repeated or out of
order, a wrong offset, the size limit across pieces, someone else's upload, and the purge of
abandoned partial files by its job."""

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from crm.clock import utcnow
from crm.extensions import db
from crm.queue import MEDIA_QUEUE, get_queue, make_worker
from crm.recordings.models import Recording, RecordingUpload
from crm.recordings.resumable import partial_path
from crm.recordings.samples import write_sample
from crm.storage import audio_store
from tests.access_matrix import ROLES

JSON = {"Accept": "application/json", "Accept-Language": "en"}


@pytest.fixture
def audio(tmp_path) -> bytes:
    return write_sample(tmp_path / "visit.ogg", "ogg", seconds=3.0).read_bytes()


def _start(client, follow_up_id: int, size: int, consent: str = "y"):
    return client.post(f"/follow-ups/{follow_up_id}/uploads",
                       data={"size": str(size), "consent": consent},
                       headers={**JSON, "X-CSRFToken": client.csrf_token()})


def _send(client, upload_id: str, offset: int, data: bytes):
    return client.post(f"/uploads/{upload_id}/chunks?offset={offset}", data=data,
                       content_type="application/octet-stream",
                       headers={**JSON, "X-CSRFToken": client.csrf_token()})


def _new_recordings(app, follow_up_id: int) -> list[Recording]:
    with app.app_context():
        return db.session.scalars(select(Recording).where(
            Recording.follow_up_id == follow_up_id)).all()


def test_chunks_in_order_make_the_recording_with_the_same_hash(app, world, login_as, audio):
    rep = login_as("rep")
    started = _start(rep, world.ride_along, len(audio))
    assert started.status_code == 201, started.get_json()
    upload = started.get_json()
    assert upload["offset"] == 0
    third = len(audio) // 3
    first = _send(rep, upload["id"], 0, audio[:third])
    assert first.status_code == 200 and first.get_json()["offset"] == third
    assert rep.get(f"/uploads/{upload['id']}", headers=JSON).get_json()["offset"] == third
    second = _send(rep, upload["id"], third, audio[third:2 * third])
    assert second.get_json()["offset"] == 2 * third
    done = _send(rep, upload["id"], 2 * third, audio[2 * third:])
    assert done.status_code == 201, done.get_json()
    body = done.get_json()
    assert body["done"] and body["redirect"].endswith(f"#follow-up-{world.ride_along}")
    recordings = _new_recordings(app, world.ride_along)
    assert len(recordings) == 1
    saved = recordings[0]
    assert saved.original_sha256 == hashlib.sha256(audio).hexdigest()
    assert saved.original_type == "audio/ogg" and saved.consent_confirmed_by_id == world.rep.id
    with app.app_context():
        store = audio_store()
        assert store.path_for(saved.original_sha256).read_bytes() == audio
        assert not partial_path(store, upload["id"]).exists()
        assert db.session.get(RecordingUpload, upload["id"]) is None
        queued = get_queue(MEDIA_QUEUE).get_jobs()
        assert [j.func_name for j in queued] == ["crm.recordings.jobs.process_recording"]


def test_repeated_and_overlapping_pieces_are_kept_once(app, world, login_as, audio):
    rep = login_as("rep")
    upload = _start(rep, world.ride_along, len(audio)).get_json()
    half = len(audio) // 2
    assert _send(rep, upload["id"], 0, audio[:half]).get_json()["offset"] == half
    # The answer was lost: the phone sends the same piece again, and one overlapping it.
    assert _send(rep, upload["id"], 0, audio[:half]).get_json()["offset"] == half
    overlap = _send(rep, upload["id"], half - 100, audio[half - 100:half + 200])
    assert overlap.get_json()["offset"] == half + 200
    done = _send(rep, upload["id"], half + 200, audio[half + 200:])
    assert done.status_code == 201
    recording = _new_recordings(app, world.ride_along)[0]
    assert recording.original_sha256 == hashlib.sha256(audio).hexdigest()


def test_a_piece_out_of_order_or_at_a_wrong_offset_says_where_to_resume(app, world, login_as,
                                                                       audio):
    rep = login_as("rep")
    upload = _start(rep, world.ride_along, len(audio)).get_json()
    ahead = _send(rep, upload["id"], 1000, audio[1000:2000])
    assert ahead.status_code == 409 and ahead.get_json()["offset"] == 0
    assert _send(rep, upload["id"], 0, audio[:500]).get_json()["offset"] == 500
    wrong = _send(rep, upload["id"], 900, audio[900:1500])
    assert wrong.status_code == 409 and wrong.get_json()["offset"] == 500
    no_offset = rep.post(f"/uploads/{upload['id']}/chunks?offset=abc", data=b"x",
                         content_type="application/octet-stream",
                         headers={**JSON, "X-CSRFToken": rep.csrf_token()})
    assert no_offset.status_code == 422
    assert _new_recordings(app, world.ride_along) == []


def test_the_size_limit_holds_across_pieces(app, world, login_as, audio):
    app.config["RECORDING_MAX_BYTES"] = 100_000
    rep = login_as("rep")
    too_big = _start(rep, world.ride_along, 100_001)
    assert too_big.status_code == 413 and "MB" in too_big.get_json()["error"]
    audio = audio * 3
    upload = _start(rep, world.ride_along, 20_000).get_json()
    assert _send(rep, upload["id"], 0, audio[:15_000]).get_json()["offset"] == 15_000
    past = _send(rep, upload["id"], 15_000, audio[15_000:25_000])
    assert past.status_code == 413 and past.get_json()["offset"] == 15_000
    with app.app_context():
        assert partial_path(audio_store(), upload["id"]).stat().st_size == 15_000


def test_not_audio_is_refused_at_the_first_bytes_and_nothing_is_kept(app, world, login_as):
    rep = login_as("rep")
    picture = b"\x89PNG\r\n\x1a\n" + b"\x00" * 4000
    upload = _start(rep, world.ride_along, len(picture)).get_json()
    refused = _send(rep, upload["id"], 0, picture[:1000])
    assert refused.status_code == 415 and "not a recording" in refused.get_json()["error"]
    with app.app_context():
        assert db.session.get(RecordingUpload, upload["id"]) is None
        assert not partial_path(audio_store(), upload["id"]).exists()


def test_consent_is_needed_before_the_first_byte(app, world, login_as, audio):
    rep = login_as("rep")
    refused = _start(rep, world.ride_along, len(audio), consent="")
    assert refused.status_code == 422 and "agreed" in refused.get_json()["error"]
    assert rep.post(f"/follow-ups/{world.ride_along}/uploads", data={"size": "x"},
                    headers={**JSON, "X-CSRFToken": rep.csrf_token()}).status_code == 422


@pytest.mark.parametrize("role", [r for r in ROLES if r not in ("anonymous", "rep")])
def test_an_upload_is_only_its_senders(app, world, login_as, audio, role):
    rep = login_as("rep")
    upload = _start(rep, world.ride_along, len(audio)).get_json()
    other = login_as(role)
    assert other.get(f"/uploads/{upload['id']}", headers=JSON).status_code == 404
    assert _send(other, upload["id"], 0, audio[:1000]).status_code == 404
    assert other.post(f"/uploads/{upload['id']}/discard",
                      headers={"X-CSRFToken": other.csrf_token()}).status_code == 404
    assert rep.get(f"/uploads/{upload['id']}", headers=JSON).get_json()["offset"] == 0


def test_starting_needs_the_right_to_add_to_the_follow_up(app, world, login_as, audio):
    assert _start(login_as("rep2"), world.ride_along, len(audio)).status_code == 404
    assert _start(login_as("rep3"), world.ride_along, len(audio)).status_code == 404
    assert _start(login_as("rep"), 999999, len(audio)).status_code == 404


def test_discard_forgets_the_partial_file(app, world, login_as, audio):
    rep = login_as("rep")
    upload = _start(rep, world.ride_along, len(audio)).get_json()
    _send(rep, upload["id"], 0, audio[:1000])
    assert rep.post(f"/uploads/{upload['id']}/discard",
                    headers={"X-CSRFToken": rep.csrf_token()}).status_code == 204
    with app.app_context():
        assert not partial_path(audio_store(), upload["id"]).exists()
    assert rep.get(f"/uploads/{upload['id']}", headers=JSON).status_code == 404


def test_the_purge_job_removes_uploads_abandoned_for_a_day(app, world, login_as, audio):
    rep = login_as("rep")
    old = _start(rep, world.ride_along, len(audio)).get_json()
    fresh = _start(rep, world.ride_along, len(audio)).get_json()
    _send(rep, old["id"], 0, audio[:1000])
    _send(rep, fresh["id"], 0, audio[:1000])
    with app.app_context():
        db.session.execute(update(RecordingUpload).where(RecordingUpload.id == old["id"])
                           .values(updated_at=utcnow() - timedelta(hours=25)))
        db.session.commit()
        get_queue().enqueue("crm.recordings.jobs.purge_abandoned_uploads")
    make_worker(app, simple=True).work(burst=True)
    with app.app_context():
        store = audio_store()
        assert db.session.get(RecordingUpload, old["id"]) is None
        assert not partial_path(store, old["id"]).exists()
        assert db.session.get(RecordingUpload, fresh["id"]) is not None
        assert partial_path(store, fresh["id"]).stat().st_size == 1000
    # Safe to run twice.
    from crm.recordings.jobs import purge_abandoned_uploads
    with app.app_context():
        assert purge_abandoned_uploads() == 0


def test_the_same_audio_sent_twice_for_a_visit_is_kept_once(app, world, login_as, audio):
    rep = login_as("rep")
    answers = []
    for _ in range(2):  # two tabs, or a retry after the answer was lost
        upload = _start(rep, world.ride_along, len(audio)).get_json()
        answers.append(_send(rep, upload["id"], 0, audio).get_json())
    assert answers[0]["recording"] == answers[1]["recording"]
    assert len(_new_recordings(app, world.ride_along)) == 1
