"""Reviews (录音分析): the manager's queue, comments at moments of the recording, rubric
scores on a versioned rubric, incremental saves, the rep's side of the loop, and trends."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crm.accounts.models import Team, User
from crm.clock import utcnow
from crm.customers.models import Customer
from crm.errors import DomainError
from crm.extensions import db
from crm.followups.logging import log_follow_up
from crm.followups.models import FollowUpKind
from crm.notifications.models import Notification, NotificationKind
from crm.recordings.models import Recording
from crm.reviews import reviewing, trends
from crm.reviews.models import Review, ReviewComment, ReviewScore, ReviewStatus
from crm.reviews.rubric import ITEM_KEYS, current_rubric, items_of, save_rubric
from tests.conftest import count_queries, same_audio_again

# Every test here works on the world's recording (or reviews of it).
pytestmark = pytest.mark.recording

EN = {"Accept-Language": "en"}
HTMX = {"HX-Request": "true", "Accept-Language": "en"}
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _recording(app, world, author, customer_id, kind=FollowUpKind.VISIT, when=None) -> int:
    """A ready recording on a new follow-up, sharing world.recording's processed audio."""
    with app.app_context():
        follow_up = log_follow_up(db.session.get(Customer, customer_id),
                                  db.session.get(User, author.id), kind=kind,
                                  occurred_at=when or utcnow(), summary="电话回访")
        db.session.flush()
        source = db.session.get(Recording, world.recording)
        return same_audio_again(source, follow_up, db.session.get(User, author.id)).id


def _start(client, recording_id) -> int:
    response = client.post_form(f"/recordings/{recording_id}/review", headers=EN)
    assert response.status_code == 303
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _comments(app, review_id) -> list[ReviewComment]:
    with app.app_context():
        return db.session.scalars(select(ReviewComment).where(
            ReviewComment.review_id == review_id).order_by(ReviewComment.id)).all()


def _finished_review(app, world, scores: dict[str, int], finished_at: datetime,
                     rep=None, reviewer=None) -> int:
    rep = rep or world.rep
    recording_id = _recording(app, world, rep, world.customers.rep if rep == world.rep
                              else world.customers.rep2)
    with app.app_context():
        review = reviewing.start_review(db.session.get(Recording, recording_id),
                                        db.session.get(User, (reviewer or world.manager).id))
        for key in ITEM_KEYS:
            reviewing.set_score(review, key, scores.get(key, 3))
        reviewing.finish_review(review)
        review.finished_at = finished_at
        db.session.commit()
        return review.id


# Comments ---------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, message", [
    ("-0:01", "before the recording starts"),
    ("-1", "before the recording starts"),
    ("0:02", "only 0:01 long"),
    ("1:00", "only 0:01 long"),
    ("soon", "minutes:seconds"),
    ("0:75", "minutes:seconds"),
])
def test_a_comment_outside_the_recording_is_refused(app, world, login_as, typed, message):
    manager = login_as("manager")
    review_id = _start(manager, world.recording)
    response = manager.post_form(f"/reviews/{review_id}/comments",
                                 {"at": typed, "kind": "issue", "body": "语速太快"}, headers=EN)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert f'value="{typed}"' in page and "语速太快" in page  # what was typed is kept
    assert _comments(app, review_id) == []


def test_each_comment_is_saved_by_its_own_request(app, world, login_as):
    manager = login_as("manager")
    review_id = _start(manager, world.recording)
    first = manager.post_form(f"/reviews/{review_id}/comments",
                              {"at": "0:00.8", "kind": "praise", "body": "开场自然"},
                              headers=HTMX)
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert "<html" not in html and "开场自然" in html
    # The waveform comes along, out of band, with a marker for the new comment.
    assert 'hx-swap-oob="true"' in html and "waveform-marker marker-praise" in html
    assert [(c.at_seconds, c.kind.value, c.body) for c in _comments(app, review_id)] == [
        (0.8, "praise", "开场自然")]

    manager.post_form(f"/reviews/{review_id}/comments",
                      {"at": "0.3", "kind": "issue", "body": "没有确认对方身份"}, headers=HTMX)
    assert [c.body for c in _comments(app, review_id)] == ["开场自然", "没有确认对方身份"]
    page = manager.get(f"/reviews/{review_id}", headers=EN).get_data(as_text=True)
    # Listed in time order, each a link that plays from its moment without script too.
    assert page.index("没有确认对方身份") < page.index("开场自然")
    assert f'/recordings/{world.recording}/audio#t=0.3"' in page and 'data-seek="0.3"' in page


def test_scores_summary_and_actions_save_one_by_one(app, world, login_as):
    manager = login_as("manager")
    review_id = _start(manager, world.recording)
    response = manager.post_form(f"/reviews/{review_id}/scores",
                                 {"item": "opening", "score": "4"}, headers=HTMX)
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    refused = manager.post_form(f"/reviews/{review_id}/scores",
                                {"item": "opening", "score": "9"}, headers=EN)
    assert refused.status_code == 422 and "Score from 1 to 5" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Review, review_id).score_by_item == {"opening": 4}
        version = db.session.get(Review, review_id).version

    saved = manager.post_form(f"/reviews/{review_id}/summary",
                              {"summary": "整体不错，收尾要更主动", "version": str(version)},
                              headers=HTMX)
    assert saved.status_code == 200 and "Saved." in saved.get_data(as_text=True)
    stale = manager.post_form(f"/reviews/{review_id}/summary",
                              {"summary": "另一个窗口里写的", "version": str(version)},
                              headers=EN)
    assert stale.status_code == 409  # a stale edit is a conflict, as everywhere
    assert "Someone else saved changes" in stale.get_data(as_text=True)
    assert "另一个窗口里写的" in stale.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Review, review_id).summary == "整体不错，收尾要更主动"

    past = manager.post_form(f"/reviews/{review_id}/actions",
                             {"text": "先问预算", "recheck_on": "2020-01-01"}, headers=EN)
    assert past.status_code == 422 and "after today" in past.get_data(as_text=True)
    later = (utcnow() + timedelta(days=14)).date().isoformat()
    added = manager.post_form(f"/reviews/{review_id}/actions",
                              {"text": "先问预算", "recheck_on": later}, headers=EN)
    assert added.status_code == 303 and added.headers["Location"].endswith("#actions")
    with app.app_context():
        [action] = db.session.get(Review, review_id).actions
        assert (action.text, action.recheck_on.isoformat()) == ("先问预算", later)


# The loop ---------------------------------------------------------------------------------

def test_finish_notifies_the_rep_who_reads_replies_and_acknowledges(app, world, login_as):
    manager = login_as("manager")
    review_id = _start(manager, world.recording)
    manager.post_form(f"/reviews/{review_id}/comments",
                      {"at": "0:00.5", "kind": "suggestion", "body": "这里可以追问预算"})
    early = manager.post_form(f"/reviews/{review_id}/finish", headers=EN)
    assert early.status_code == 303
    assert "Score every item before finishing" in manager.get(
        early.headers["Location"], headers=EN).get_data(as_text=True)

    rep = login_as("rep")
    assert rep.get(f"/reviews/{review_id}").status_code == 404  # a draft is the manager's

    for key in ITEM_KEYS:
        manager.post_form(f"/reviews/{review_id}/scores", {"item": key, "score": "3"})
    assert manager.post_form(f"/reviews/{review_id}/finish").status_code == 303

    mine = rep.get("/reviews", headers=EN).get_data(as_text=True)
    assert 'data-unread' in mine and 'class="unread"' in mine and "New" in mine
    opened = rep.get(f"/reviews/{review_id}", headers=EN)
    assert opened.status_code == 200
    assert 'data-unread' not in opened.get_data(as_text=True)  # read as it opens
    with app.app_context():
        review = db.session.get(Review, review_id)
        assert review.read_at is not None and review.acknowledged_at is None
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == world.rep.id, Notification.read_at.is_(None))) == 0
        comment_id = review.comments[0].id
    assert 'class="unread"' not in rep.get("/reviews").get_data(as_text=True)

    empty = rep.post_form(f"/reviews/{review_id}/comments/{comment_id}/reply", {"reply": " "},
                          headers=EN)
    assert empty.status_code == 422 and "Write your reply." in empty.get_data(as_text=True)
    rep.post_form(f"/reviews/{review_id}/comments/{comment_id}/reply",
                  {"reply": "下次会先问预算"})
    assert rep.post_form(f"/reviews/{review_id}/acknowledge").status_code == 303
    # The rep cannot write the review itself.
    assert rep.post_form(f"/reviews/{review_id}/comments",
                         {"at": "0:00", "kind": "praise", "body": "x"}).status_code == 403

    queue = manager.get("/reviews", headers=EN).get_data(as_text=True)
    assert "Reply to your review comment" in queue and "Review acknowledged" in queue
    page = manager.get(f"/reviews/{review_id}", headers=EN).get_data(as_text=True)
    assert "下次会先问预算" in page and "Acknowledged" in page
    with app.app_context():
        kinds = db.session.scalars(select(Notification.kind).order_by(Notification.id)).all()
        assert kinds == [NotificationKind.REVIEW_FINISHED, NotificationKind.REVIEW_REPLY,
                         NotificationKind.REVIEW_ACKNOWLEDGED]
    # A finished review is no longer changed.
    with app.test_request_context(headers=EN):
        with pytest.raises(DomainError, match="finished"):
            reviewing.set_score(db.session.get(Review, review_id), "opening", 5)


def test_other_teams_and_colleagues_get_404(app, world, login_as):
    review = world.review("finished")
    for who in ("rep2", "manager2", "rep3"):
        client = login_as(who)
        assert client.get(f"/reviews/{review.id}").status_code == 404
        assert client.get(f"/recordings/{review.recording}/audio").status_code == 404
        assert client.post_form(f"/reviews/{review.id}/acknowledge").status_code == 404
    assert login_as("region_manager").get(f"/reviews/{review.id}").status_code == 200


# The queue --------------------------------------------------------------------------------

def test_queue_lists_unreviewed_recordings_of_the_team_oldest_first(app, world, login_as):
    older = _recording(app, world, world.rep2, world.customers.rep2, kind=FollowUpKind.CALL)
    own = _recording(app, world, world.manager, world.customers.rep)  # the manager's own
    elsewhere = _recording(app, world, world.rep3, world.customers.rep3)
    world.review("finished")  # reviewed: not in the queue
    with app.app_context():
        # Make `older` really the oldest upload.
        db.session.get(Recording, older).created_at = utcnow() - timedelta(days=3)
        db.session.commit()
    manager = login_as("manager")
    html = manager.get("/reviews", headers=EN).get_data(as_text=True)
    starts = [f"/recordings/{rid}/review" for rid in (older, world.recording)]
    assert all(url in html for url in starts)
    assert html.index(starts[0]) < html.index(starts[1])
    assert f"/recordings/{own}/review" not in html
    assert f"/recordings/{elsewhere}/review" not in html
    assert "Today: 1 of 2 reviewed" in html  # world.review was finished today

    calls = manager.get("/reviews?kind=call", headers=EN).get_data(as_text=True)
    assert starts[0] in calls and starts[1] not in calls
    of_rep = manager.get(f"/reviews?rep={world.rep.id}", headers=EN).get_data(as_text=True)
    assert starts[1] in of_rep and starts[0] not in of_rep


def test_daily_target_is_the_teams_setting(app, world, login_as):
    with app.app_context():
        db.session.get(Team, world.teams.sh1).daily_review_target = 5
        db.session.commit()
    world.review("finished")  # finished by the manager today
    html = login_as("manager").get("/reviews", headers=EN).get_data(as_text=True)
    assert "Today: 1 of 5 reviewed" in html
    assert "Awaiting acknowledgement" in html


def test_admin_edits_the_daily_target_on_the_team(app, world, login_as):
    admin = login_as("admin")
    response = admin.post_form(f"/admin/teams/{world.teams.sh1}", {
        "name": "Shanghai 1", "parent_id": str(world.teams.east), "protection_days": "30",
        "holding_limit": "200", "expiry_warning_days": "3", "daily_review_target": "4"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Team, world.teams.sh1).daily_review_target == 4


def test_queue_page_queries_do_not_grow_with_recordings(app, world, login_as):
    manager = login_as("manager")
    manager.get("/reviews")
    with count_queries(app) as few:
        manager.get("/reviews")
    for n in range(12):
        author = (world.rep, world.rep2, world.hz_rep)[n % 3]
        customer = (world.customers.rep, world.customers.rep2, world.customers.hz)[n % 3]
        kind = (FollowUpKind.VISIT, FollowUpKind.CALL)[n % 2]
        _recording(app, world, author, customer, kind=kind)
    for _ in range(3):
        _finished_review(app, world, {}, utcnow())
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Recording)) > 15
    with count_queries(app) as many:
        manager.get("/reviews")
    assert few.count == many.count


def test_rep_list_is_newest_first(app, world, login_as):
    now = utcnow()
    older = _finished_review(app, world, {}, now - timedelta(days=10))
    newer = _finished_review(app, world, {}, now - timedelta(days=1))
    html = login_as("rep").get("/reviews").get_data(as_text=True)
    assert html.index(f"/reviews/{newer}") < html.index(f"/reviews/{older}")
    assert f"/reviews/{older}" not in login_as("rep2").get("/reviews").get_data(as_text=True)


# The rubric -------------------------------------------------------------------------------

def test_editing_the_rubric_does_not_change_old_reviews(app, world, login_as):
    old = world.review("finished")
    admin = login_as("admin")
    form = {}
    with app.test_request_context(headers=EN):
        for item in items_of(current_rubric()):
            form[f"{item.key}-label"] = item.label
            for score, level in enumerate(item.levels, start=1):
                form[f"{item.key}-level-{score}"] = level
    form["opening-label"] = "First minute"
    form["opening-level-3"] = "Says who they are and why they call within a minute."
    unchanged = admin.post_form("/admin/rubric", form, headers=EN)
    assert unchanged.status_code == 303
    missing = admin.post_form("/admin/rubric", {**form, "closing-level-2": ""}, headers=EN)
    assert missing.status_code == 422
    assert "Describe this level in one line." in missing.get_data(as_text=True)
    assert "First minute" in missing.get_data(as_text=True)  # what was typed is kept
    with app.app_context():
        from crm.reviews.models import RubricVersion

        assert [v.number for v in db.session.scalars(
            select(RubricVersion).order_by(RubricVersion.number))] == [1, 2]

    manager = login_as("manager")
    old_page = manager.get(f"/reviews/{old.id}", headers=EN).get_data(as_text=True)
    assert "Opening" in old_page and "First minute" not in old_page
    assert "Clear greeting and purpose." in old_page  # score 3 of version 1, as scored
    assert "Rubric version 1" in old_page

    new_id = _start(manager, world.recording)
    manager.post_form(f"/reviews/{new_id}/scores", {"item": "opening", "score": "3"})
    new_page = manager.get(f"/reviews/{new_id}", headers=EN).get_data(as_text=True)
    assert "First minute" in new_page and "Rubric version 2" in new_page
    assert "Says who they are and why they call within a minute." in new_page


def test_a_score_must_be_for_an_item_of_the_reviews_own_rubric(app, world):
    review = world.review("draft")
    with app.test_request_context(headers=EN):
        admin = db.session.get(User, world.admin.id)
        version = save_rubric([{"key": "rapport", "label": "Rapport",
                                "levels": ["a", "b", "c", "d", "e"]}], admin)
        db.session.commit()
        assert version.number == 2
        draft = db.session.get(Review, review.id)
        with pytest.raises(DomainError, match="not on the review's scorecard"):
            reviewing.set_score(draft, "rapport", 4)
        reviewing.set_score(draft, "opening", 4)
        assert draft.score_by_item == {"opening": 4}


# Trends -----------------------------------------------------------------------------------

def test_trend_figures_match_hand_computed_averages(app, world):
    monday = trends.week_of(utcnow(), SHANGHAI) - timedelta(weeks=3)

    def at(day_offset, hour):
        local = datetime.combine(monday + timedelta(days=day_offset), datetime.min.time(),
                                 tzinfo=SHANGHAI).replace(hour=hour)
        return local.astimezone(ZoneInfo("UTC"))

    # Week 1: Tuesday and Thursday. Week 2: Monday 07:00 in Shanghai, which is still Sunday
    # in UTC, so it proves weeks follow the reader's zone.
    _finished_review(app, world, {"opening": 2, "closing": 3}, at(1, 10))
    _finished_review(app, world, {"opening": 4, "closing": 5}, at(3, 15))
    _finished_review(app, world, {"opening": 5, "closing": 2}, at(7, 7))
    # Someone else's review does not count.
    _finished_review(app, world, {"opening": 1}, at(2, 10), rep=world.rep2)

    with app.app_context():
        since = utcnow() - timedelta(days=90)
        weekly = trends.weekly_averages(world.rep.id, since, SHANGHAI)
        assert list(weekly) == [monday, monday + timedelta(weeks=1)]
        assert weekly[monday]["opening"] == 3.0 and weekly[monday]["closing"] == 4.0
        assert weekly[monday + timedelta(weeks=1)]["opening"] == 5.0
        assert weekly[monday + timedelta(weeks=1)]["closing"] == 2.0
        assert weekly[monday]["presentation"] == 3.0

        averages = trends.item_averages([world.rep.id, world.rep2.id], since)
        assert averages[world.rep.id]["opening"] == round(11 / 3, 2)  # (2 + 4 + 5) / 3
        assert averages[world.rep.id]["closing"] == round(10 / 3, 2)  # (3 + 5 + 2) / 3
        assert averages[world.rep2.id]["opening"] == 1.0
        team = trends.team_averages([world.rep.id, world.rep2.id], since)
        assert team["opening"] == 3.0  # (2 + 4 + 5 + 1) / 4

        per_week = trends.reviews_per_manager_week([world.rep.id, world.rep2.id], since,
                                                   SHANGHAI)
        assert dict(per_week[world.manager.id]) == {monday: 3, monday + timedelta(weeks=1): 1}

        points = trends.score_points([world.rep.id], since, SHANGHAI)[world.rep.id]
        assert [(p.day, p.score) for p in points["opening"]] == [
            (monday + timedelta(days=1), 2), (monday + timedelta(days=3), 4),
            (monday + timedelta(days=7), 5)]


def test_trend_and_team_pages_show_the_figures(app, world, login_as):
    _finished_review(app, world, {"opening": 2}, utcnow() - timedelta(days=2))
    _finished_review(app, world, {"opening": 5}, utcnow() - timedelta(days=1))
    page = login_as("rep").get(f"/reviews/trends/{world.rep.id}", headers=EN)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html and "polyline" in html
    team = login_as("manager").get("/reviews/team", headers=EN).get_data(as_text=True)
    assert "3.5" in team  # (2 + 5) / 2 for the rep's opening
    assert login_as("rep").get("/reviews/team").status_code == 403


def test_a_due_recheck_shows_the_reps_scores_beside_the_action(app, world, login_as):
    review = world.review("finished")
    with app.app_context():
        action = db.session.get(Review, review.id).actions[0]
        action.recheck_on = utcnow().date() - timedelta(days=1)
        db.session.commit()
    manager = login_as("manager")
    html = manager.get("/reviews", headers=EN).get_data(as_text=True)
    section = html[html.index('id="rechecks"'):]
    assert "先问需求再介绍产品" in section and "trend-chart" in section
    done = manager.post_form(f"/reviews/{review.id}/actions/{review.action}/recheck",
                             {"from": "queue"})
    assert done.headers["Location"].endswith("/reviews#rechecks")
    assert "先问需求再介绍产品" not in manager.get("/reviews").get_data(as_text=True).split(
        'id="rechecks"')[1].split("</section>")[0]


def test_status_and_scores_survive_on_the_review_row(app, world):
    review = world.review("finished")
    with app.app_context():
        row = db.session.get(Review, review.id)
        assert row.status == ReviewStatus.FINISHED and row.finished_at is not None
        assert db.session.scalar(select(func.count()).select_from(ReviewScore).where(
            ReviewScore.review_id == review.id)) == len(ITEM_KEYS)


def test_demo_has_reviews_in_every_state(app):
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        reviews = db.session.scalars(select(Review)).all()
        rep = db.session.scalar(select(User).where(User.email == "rep@demo.local"))
        states = {("draft" if r.is_draft else "unread" if r.read_at is None
                   else "acknowledged" if r.acknowledged_at else "read") for r in reviews}
        assert states == {"draft", "unread", "read", "acknowledged"}
        assert any(c.reply for r in reviews for c in r.comments)
        weeks = {trends.week_of(r.finished_at, SHANGHAI) for r in reviews
                 if r.rep_id == rep.id and r.finished_at}
        assert len(weeks) >= 3  # spread over weeks, for the trend
        assert all(c.at_seconds <= r.recording.duration_seconds
                   for r in reviews for c in r.comments)
