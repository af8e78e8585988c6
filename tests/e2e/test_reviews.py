"""Reviews in a real browser: a manager reviews a call and the rep listens from a comment;
re-checks, trends and the team table draw their charts."""

import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from crm.accounts.models import User
from crm.clock import utcnow
from crm.customers.models import Customer
from crm.extensions import db
from crm.followups.logging import log_follow_up
from crm.followups.models import FollowUpKind
from crm.recordings.attaching import attach_recording
from crm.recordings.jobs import process_recording
from crm.recordings.models import Recording
from crm.recordings.samples import write_sample
from crm.reviews import reviewing
from crm.reviews.rubric import ITEM_KEYS
from crm.storage import audio_store

SECONDS = 20.0
# The manager's queue and the pages here show the world's recording (and reviews of it).
pytestmark = pytest.mark.recording


def _call_with_recording(app, world) -> int:
    """A 20-second call by the rep, processed as the worker would (long enough to seek in)."""
    with app.app_context():
        follow_up = log_follow_up(db.session.get(Customer, world.customers.rep),
                                  db.session.get(User, world.rep.id), kind=FollowUpKind.CALL,
                                  occurred_at=utcnow(), summary="电话介绍新方案，客户要报价")
        sample = write_sample(world.scratch / "e2e-call.wav", "wav", seconds=SECONDS, seed=7)
        recording = attach_recording(follow_up, db.session.get(User, world.rep.id),
                                     audio_store().keep_path(sample), "audio/wav",
                                     consent_confirmed=True)
        db.session.commit()
        process_recording(recording.id)
        return recording.id


def _wait_until(page, expression: str, seconds: float = 10) -> None:
    """Poll with page.evaluate: wait_for_function evaluates strings in the page, which the
    CSP (rightly) forbids."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false: {expression}"
        page.wait_for_timeout(100)


def _audio_time(page) -> float:
    return page.evaluate("document.querySelector('audio[data-player]').currentTime")


def test_manager_reviews_and_rep_listens_from_a_comment(page, live_server, app, world, shot,
                                                        sign_in):
    recording_id = _call_with_recording(app, world)
    sign_in(world.manager.email)
    # Debian's Chromium plays AAC in MP4 (the playable copy every recording gets).
    assert page.evaluate("document.createElement('audio').canPlayType('audio/mp4')") != ""

    page.goto(f"{live_server}/reviews")
    expect(page.locator(".target")).to_contain_text("0 / 2")
    shot("queue")
    page.click(f"form[action='/recordings/{recording_id}/review'] button")
    expect(page.locator(".topbar h1")).to_contain_text("录音分析")
    _wait_until(page, "document.querySelector('audio[data-player]').readyState >= 1")

    # Play from about a third in (a click on the waveform seeks there and plays).
    wave = page.locator("svg.waveform")
    box = wave.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.35, box["y"] + box["height"] / 2)
    _wait_until(page, "document.querySelector('audio[data-player]').currentTime > 7.5")
    page.click("button[data-comment-here]")
    moment = _audio_time(page)  # paused by "comment here"
    typed = page.input_value("#at")
    minutes, seconds = typed.split(":")
    assert abs(int(minutes) * 60 + float(seconds) - moment) < 0.2
    page.select_option("#kind", "issue")
    page.fill("#body", "客户问价格时没有先了解预算")
    page.click("button:has-text('添加点评')")
    expect(page.locator("#comments .comment")).to_have_count(1)
    expect(page.locator("svg.waveform .waveform-marker")).to_have_count(1)

    # Each score saves by itself and the scorecard is swapped: find the item afresh each time.
    for n in range(page.locator(".rubric-item").count()):
        item = page.locator(".rubric-item").nth(n)
        item.locator("label", has_text=str(3 + n % 2)).click()
        expect(item.locator("input:checked")).to_have_value(str(3 + n % 2))
        expect(item.locator(".hint")).to_be_visible()  # the level's description, from the server
    expect(page.locator(".rubric-item button").first).to_be_hidden()  # scores save by themselves
    page.fill("#summary-summary, #summary textarea", "需求挖掘要更早，报价前先问预算。")
    page.click("button:has-text('保存总结')")
    expect(page.locator("#summary .saved")).to_be_visible()
    shot("manager-review")
    page.click("button:has-text('完成分析')")
    expect(page.locator(".flash-success")).to_be_visible()

    page.context.clear_cookies()
    sign_in(world.rep.email)
    expect(page.locator("[data-unread]").first).to_have_text("1")
    page.goto(f"{live_server}/reviews")
    page.click(".review-list li.unread a")
    _wait_until(page, "document.querySelector('audio[data-player]').readyState >= 1")
    link = page.locator("#comments a.seek")
    target = float(link.get_attribute("data-seek"))
    assert abs(target - moment) < 0.2
    link.click()
    _wait_until(page, "Math.abs(document.querySelector('audio[data-player]').currentTime"
                      f" - {target}) < 1.5")
    assert abs(_audio_time(page) - target) < 1.5
    page.evaluate("document.querySelector('audio[data-player]').pause()")
    shot("rep-review")
    page.click("#comments summary")
    page.fill("#comments textarea", "明白，下次先问预算")
    page.click("button:has-text('发送回复')")
    expect(page.locator("#comments .reply")).to_contain_text("明白，下次先问预算")
    page.click("button:has-text('确认已阅')")
    expect(page.locator(".flash-success")).to_be_visible()
    # The list says so (and leaves the page with the player, so no audio request is cut off
    # when the test server stops).
    page.goto(f"{live_server}/reviews")
    expect(page.locator(".review-list")).to_contain_text("已确认")


def _history(app, world, weeks: int = 6) -> None:
    """A review of the rep every week for `weeks` weeks, scores rising; the oldest one's
    improvement action is due today."""
    now = utcnow()
    with app.app_context():
        source = db.session.get(Recording, world.recording)
        manager = db.session.get(User, world.manager.id)
        for week in range(weeks):
            follow_up = log_follow_up(db.session.get(Customer, world.customers.rep),
                                      db.session.get(User, world.rep.id),
                                      kind=FollowUpKind.VISIT,
                                      occurred_at=now - timedelta(weeks=weeks - week),
                                      summary="拜访")
            db.session.flush()
            copy = Recording(follow_up_id=follow_up.id, uploaded_by_id=world.rep.id,
                             original_sha256=source.original_sha256,
                             original_size=source.original_size,
                             original_type=source.original_type,
                             playable_sha256=source.playable_sha256,
                             playable_size=source.playable_size, status=source.status,
                             duration_seconds=source.duration_seconds, peaks=source.peaks)
            db.session.add(copy)
            db.session.flush()
            review = reviewing.start_review(copy, manager)
            for n, key in enumerate(ITEM_KEYS):
                reviewing.set_score(review, key, min(5, 1 + (week + n) // 2))
            if week == 0:
                reviewing.add_action(review, "先问预算再报价", now.date() + timedelta(days=1))
            reviewing.finish_review(review)
            review.finished_at = now - timedelta(weeks=weeks - week, days=-1)
            if week == 0:
                review.actions[0].recheck_on = now.date()
        db.session.commit()


def test_recheck_trends_and_team_table(page, live_server, app, world, shot, sign_in):
    _history(app, world)
    sign_in(world.manager.email)
    page.goto(f"{live_server}/reviews")
    rechecks = page.locator("#rechecks")
    expect(rechecks).to_contain_text("先问预算再报价")
    expect(rechecks.locator("svg.trend-chart polyline")).to_have_count(len(ITEM_KEYS))
    shot("recheck")
    page.goto(f"{live_server}/reviews/team")
    expect(page.locator("table.trend-table").first).to_contain_text("Rep")
    shot("team")
    page.goto(f"{live_server}/reviews/trends/{world.rep.id}")
    expect(page.locator("svg.trend-chart polyline")).to_have_count(len(ITEM_KEYS))
    shot("trends")


def test_admin_edits_the_rubric_as_a_new_version(page, live_server, world, shot, sign_in):
    old = world.review("finished")
    sign_in(world.admin.email)
    page.goto(f"{live_server}/admin/rubric")
    expect(page.locator("#opening-label")).to_have_value("开场")
    page.fill("#opening-label", "开场白")
    page.fill("#opening-level-1", "")
    page.click("button:has-text('保存为新版本')")
    expect(page.locator(".form-errors")).to_be_visible()
    expect(page.locator("#opening-label")).to_have_value("开场白")  # kept while refused
    page.fill("#opening-level-1", "没有自我介绍")
    page.click("button:has-text('保存为新版本')")
    expect(page.locator(".flash-success")).to_contain_text("第 2 版")
    shot("rubric")
    page.goto(f"{live_server}/reviews/{old.id}")
    expect(page.locator("#rubric")).to_contain_text("开场")
    expect(page.locator("#rubric")).not_to_contain_text("开场白")
    _wait_until(page, "document.querySelector('audio[data-player]').readyState >= 1")
