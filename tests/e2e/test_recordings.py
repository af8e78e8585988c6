"""On a phone: log a visit from the card with its recording, retry a failed upload without
retyping anything, and hear it play on the timeline once the worker has processed it."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from crm.extensions import db
from crm.followups.models import FollowUp
from crm.queue import make_worker
from crm.recordings.samples import write_sample

# The card's timeline carries the world's recording beside the ones these tests add.
pytestmark = [pytest.mark.parametrize("viewport", ["phone"], indirect=True),
              pytest.mark.recording]


def test_log_a_visit_with_its_recording_and_play_it(app, page, live_server, world, shot,
                                                     sign_in, tmp_path):
    wrong = tmp_path / "照片.m4a"
    wrong.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 4096)
    audio = write_sample(tmp_path / "拜访录音.m4a", "m4a", seconds=6.0)

    sign_in(world.rep.email)
    page.goto(f"{live_server}/customers/{world.customers.rep}")
    page.click("a:has-text('记录拜访')")
    page.fill("#summary", "带着样品上门，客户当场试用")
    expect(page.locator("[data-recording-picker]")).to_be_visible()
    page.set_input_files("#audio", str(wrong))
    page.check("#consent")
    shot("log-with-recording")
    page.click("button:has-text('保存跟进')")

    # The notes are saved; the wrong file is refused and the audio alone can be sent again.
    expect(page.locator("[data-upload-error]")).to_contain_text("不是可播放的录音")
    expect(page.locator("[data-notes-saved]")).to_be_visible()
    shot("upload-refused")
    with app.app_context():
        saved = db.session.scalars(select(FollowUp).where(
            FollowUp.summary == "带着样品上门，客户当场试用")).all()
        assert len(saved) == 1 and saved[0].recordings == []
    expect(page.locator("button:has-text('保存后添加录音')")).to_be_hidden()  # no-script only
    page.set_input_files("#audio", str(audio))
    page.click("button:has-text('重新上传录音')")
    page.wait_for_url(f"**/customers/{world.customers.rep}#follow-up-{saved[0].id}")
    visit = page.locator(f"#follow-up-{saved[0].id}")
    expect(visit).to_contain_text("处理中")

    make_worker(app, simple=True).work(burst=True)  # the worker makes the AAC copy
    player = visit.locator("audio[data-player]")
    expect(player).to_be_attached(timeout=10_000)  # the card polls until it is ready
    assert page.evaluate("document.createElement('audio').canPlayType('audio/mp4')") != ""
    visit.locator("svg.waveform").click(position={"x": 120, "y": 10})
    page.wait_for_function(
        "id => { const a = document.querySelector(`#follow-up-${id} audio`);"
        " return a && !a.paused && a.currentTime > 1; }", arg=saved[0].id, timeout=10_000)
    shot("playing")


def test_record_in_the_page_and_send_it(app, page, live_server, world, shot, sign_in):
    """Where the browser records (MediaRecorder), the Record button attaches what it heard;
    Chromium's fake microphone stands in for the phone's."""
    with app.app_context():
        from crm.customers.models import Customer

        db.session.get(Customer, world.customers.rep).recording_consent = True
        db.session.commit()
    sign_in(world.rep.email)
    page.goto(f"{live_server}/customers/{world.customers.rep}/follow-ups/new?kind=call")
    page.fill("#summary", "电话回访，客户确认下周签约")
    expect(page.locator("#consent")).to_have_count(0)  # the card records consent already
    record = page.locator("[data-recorder-toggle]")
    record.click()
    expect(record).to_contain_text("停止录音")
    page.wait_for_timeout(2500)
    record.click()
    expect(page.locator("[data-recorder-status]")).to_contain_text("✓ 已录音 0:0")
    shot("recorded")
    page.click("button:has-text('保存跟进')")
    page.wait_for_url(f"**/customers/{world.customers.rep}#follow-up-*")
    with app.app_context():
        [follow_up] = db.session.scalars(select(FollowUp).where(
            FollowUp.summary == "电话回访，客户确认下周签约")).all()
        [recording] = follow_up.recordings
        assert recording.original_type in {"audio/webm", "audio/ogg", "audio/mp4"}
    make_worker(app, simple=True).work(burst=True)
    player = page.locator(f"#follow-up-{follow_up.id} audio[data-player]")
    expect(player).to_be_attached(timeout=10_000)
    with app.app_context():
        from crm.recordings.models import Recording

        processed = db.session.get(Recording, recording.id)
        assert processed.duration_seconds == pytest.approx(2.5, abs=1.0)
