"""The customer's voice: the feedback workflow and its history, deadlines in the team's zone,
overdue notices, survey links, one survey per 30 days, a low score opening a complaint,
satisfaction figures, care lists across a lunar birthday, and XLSX exports read back."""

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from itsdangerous import URLSafeSerializer
from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.accounts.models import Team, User
from crm.clock import utcnow
from crm.customers.models import Contact, Customer, Tier
from crm.errors import DomainError
from crm.extensions import db
from crm.followups.models import Revisit
from crm.notifications.models import Notification, NotificationKind
from crm.voice import care
from crm.voice.deadlines import due_at
from crm.voice.feedback import change_status, notify_overdue, reassign, register_feedback
from crm.voice.models import (
    VOICE_DEFAULTS,
    CareGesture,
    Channel,
    Feedback,
    FeedbackEvent,
    FeedbackKind,
    FeedbackStatus,
    Severity,
    Survey,
    SurveyReason,
    SurveyScale,
)
from crm.voice.settings import save_settings
from crm.voice.surveys import (
    answer_survey,
    create_survey,
    form_token_for,
    satisfaction,
    token_for,
)
from tests.conftest import count_queries

SHANGHAI_2330 = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # Monday 23:30 in Shanghai
EN = {"Accept-Language": "en"}


def _customer(customer_id) -> Customer:
    return db.session.get(Customer, customer_id)


def _user(world, who) -> User:
    return db.session.get(User, getattr(world, who).id)


def _complaint(world, severity=Severity.NORMAL, received_at=None, **kwargs) -> Feedback:
    return register_feedback(_customer(world.customers.rep), _user(world, "office"),
                             kind=FeedbackKind.COMPLAINT, channel=Channel.PHONE,
                             severity=severity, summary="送货晚了两天",
                             received_at=received_at, **kwargs)


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# The workflow --------------------------------------------------------------------------------

def test_the_workflow_keeps_every_change(app, world):
    with app.app_context():
        feedback = _complaint(world)
        assert feedback.assignee_id == world.rep.id  # the customer's owner by default
        rep, manager = _user(world, "rep"), _user(world, "manager")
        change_status(feedback, rep, FeedbackStatus.IN_PROGRESS)
        with pytest.raises(DomainError):  # resolving needs a resolution
            change_status(feedback, rep, FeedbackStatus.RESOLVED)
        change_status(feedback, rep, FeedbackStatus.RESOLVED, resolution="补发并道歉")
        with pytest.raises(DomainError):  # no jumping back to "in progress" from resolved
            change_status(feedback, rep, FeedbackStatus.IN_PROGRESS)
        change_status(feedback, manager, FeedbackStatus.CLOSED)
        first_due = feedback.due_at
        change_status(feedback, manager, FeedbackStatus.OPEN, note="客户又来电")
        assert feedback.deadline_episode == 2 and feedback.due_at > first_due
        assert feedback.closed_at is None
        events = db.session.scalars(select(FeedbackEvent).where(
            FeedbackEvent.feedback_id == feedback.id).order_by(FeedbackEvent.id)).all()
        moves = [(e.field, e.from_value, e.to_value, e.by_user_id) for e in events]
        assert moves == [
            ("created", None, "complaint", world.office.id),
            ("status", "open", "in_progress", world.rep.id),
            ("resolution", None, None, world.rep.id),
            ("status", "in_progress", "resolved", world.rep.id),
            ("status", "resolved", "closed", world.manager.id),
            ("status", "closed", "open", world.manager.id),
        ]
        assert events[-1].note == "客户又来电"


def test_closing_a_complaint_plans_a_revisit_and_offers_a_survey(app, world, login_as):
    with app.app_context():
        feedback = _complaint(world)
        rep = _user(world, "rep")
        change_status(feedback, rep, FeedbackStatus.RESOLVED, resolution="已补发")
        db.session.commit()
        feedback_id, version = feedback.id, feedback.version
    client = login_as("rep")
    response = client.post_form(f"/feedback/{feedback_id}/status",
                                {"status": "closed", "version": str(version)})
    assert response.status_code == 303
    page = client.get(f"/feedback/{feedback_id}", headers=EN).get_data(as_text=True)
    assert "Send a satisfaction survey" in page
    with app.app_context():
        revisit = db.session.scalar(select(Revisit).where(
            Revisit.plan_key == f"complaint:{feedback_id}:1"))
        assert revisit is not None and revisit.reason == "complaint"
        assert revisit.customer_id == world.customers.rep


def test_a_stale_status_change_is_refused(app, world, login_as):
    with app.app_context():
        feedback = _complaint(world)
        db.session.commit()
        feedback_id = feedback.id
    client = login_as("rep")
    assert client.post_form(f"/feedback/{feedback_id}/status",
                            {"status": "in_progress", "version": "1"}).status_code == 303
    stale = client.post_form(f"/feedback/{feedback_id}/status",
                             {"status": "resolved", "resolution": "x", "version": "1"})
    assert stale.status_code == 409


def test_registering_from_the_card_and_bad_input(app, world, login_as):
    client = login_as("rep")
    url = f"/customers/{world.customers.rep}/feedback"
    bad = client.post_form(url, {"kind": "complaint", "channel": "phone", "severity": "high",
                                 "summary": "", "assignee_id": ""})
    assert bad.status_code == 422
    good = client.post_form(url, {"kind": "praise", "channel": "visit", "severity": "low",
                                  "summary": "表扬安装师傅", "assignee_id": ""})
    assert good.status_code == 303
    card = client.get(f"/customers/{world.customers.rep}", headers=EN).get_data(as_text=True)
    assert "表扬安装师傅" in card and "registered" in card  # the card and its timeline
    # A query string never makes a 500.
    listing = login_as("office")
    for query in ("kind=nope&status=x&assignee=abc&team=zz&overdue=maybe&after=%%%", ""):
        assert listing.get(f"/feedback?{query}").status_code == 200


# Deadlines in the team's zone ------------------------------------------------------------------

def test_deadlines_by_severity_count_in_the_teams_zone(app):
    with app.app_context():
        shanghai, new_york = ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")
        assert due_at(SHANGHAI_2330, Severity.HIGH, VOICE_DEFAULTS, shanghai) == \
            SHANGHAI_2330 + timedelta(hours=24)
        assert due_at(SHANGHAI_2330, Severity.NORMAL, VOICE_DEFAULTS, shanghai) == \
            SHANGHAI_2330 + timedelta(hours=72)
        # Monday 23:30 in Shanghai, 7 days: due when the next Monday ends there, which is
        # 16:00 UTC on that Monday.
        assert due_at(SHANGHAI_2330, Severity.LOW, VOICE_DEFAULTS, shanghai) == \
            datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
        # The same moment is still Monday morning in New York: due when its next Monday ends.
        assert due_at(SHANGHAI_2330, Severity.LOW, VOICE_DEFAULTS, new_york) == \
            datetime(2026, 3, 10, 4, 0, tzinfo=UTC)


def test_voice_counts_days_in_the_teams_own_zone(app, world):
    """One zone per team: the one set in Admin → Teams; feedback has no zone of its own."""
    from crm.voice.models import VoiceSettings
    from crm.voice.settings import zone_of_team

    assert "timezone" not in VoiceSettings.__table__.columns
    with app.app_context():
        team = db.session.get(Team, world.teams.sh1)
        team.timezone = "America/New_York"
        db.session.flush()
        assert zone_of_team(team.id) == ZoneInfo("America/New_York")
        db.session.rollback()


def test_a_breach_tells_the_assignees_manager_once(app, world):
    with app.app_context():
        feedback = _complaint(world, Severity.LOW, received_at=SHANGHAI_2330)
        due = feedback.due_at
        assert due == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
        assert notify_overdue(due - timedelta(seconds=1)) == 0
        assert notify_overdue(due) == 1
        assert notify_overdue(due + timedelta(hours=1)) == 0  # once per deadline
        told = db.session.scalars(select(Notification).where(
            Notification.kind == NotificationKind.FEEDBACK_OVERDUE)).all()
        assert [(n.user_id, n.link) for n in told] == [(world.manager.id,
                                                       f"/feedback/{feedback.id}")]
        # Resolved, it runs no more; reopened, a new deadline can be missed again.
        rep = _user(world, "rep")
        change_status(feedback, rep, FeedbackStatus.RESOLVED, resolution="已处理")
        assert notify_overdue(due + timedelta(days=30)) == 0
        change_status(feedback, rep, FeedbackStatus.OPEN)
        assert notify_overdue(feedback.due_at) == 1


def test_a_managers_own_feedback_goes_to_the_manager_above(app, world):
    with app.app_context():
        feedback = _complaint(world, Severity.HIGH, received_at=SHANGHAI_2330)
        reassign(feedback, _user(world, "office"), assignee=_user(world, "manager"),
                 severity=Severity.HIGH)
        assert notify_overdue(feedback.due_at) == 1
        note = db.session.scalar(select(Notification).where(
            Notification.kind == NotificationKind.FEEDBACK_OVERDUE))
        assert note.user_id == world.region_manager.id


def test_the_sweep_runs_through_the_worker_job(app, world):
    from crm.voice.jobs import notify_overdue_feedback

    with app.app_context():
        _complaint(world, Severity.HIGH, received_at=utcnow() - timedelta(days=3))
        assert notify_overdue_feedback() == 1
        assert notify_overdue_feedback() == 0


# Surveys -------------------------------------------------------------------------------------

def _survey(app, world, **kwargs) -> tuple[int, str, str]:
    with app.app_context():
        survey = create_survey(_customer(world.customers.rep), _user(world, "rep"),
                               reason=SurveyReason.WON_DEAL, **kwargs)
        db.session.commit()
        return survey.id, token_for(survey), form_token_for(survey)


def test_a_survey_link_answers_once(app, world, client):
    survey_id, token, form_token = _survey(app, world)
    page = client.get(f"/s?t={token}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "满意" in body and 'name="robots" content="noindex' in body
    assert page.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in page.headers  # no session
    english = client.get(f"/s?t={token}", headers={"Accept-Language": "en-US"})
    assert "How satisfied" in english.get_data(as_text=True)
    answered = client.post(f"/s?t={token}", data={"score": "5", "comment": "很好",
                                               "csrf_token": form_token})
    assert answered.status_code == 200 and "Set-Cookie" not in answered.headers
    again = client.post(f"/s?t={token}", data={"score": "1", "csrf_token": form_token})
    assert again.status_code == 404 and "Set-Cookie" not in again.headers
    assert "app.js" not in again.get_data(as_text=True)  # the public layout, not the app's
    assert client.get(f"/s?t={token}").status_code == 404
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        assert (survey.score, survey.comment) == (5, "很好")


def test_every_bad_link_looks_the_same(app, world, client):
    survey_id, token, _form = _survey(app, world)
    with app.app_context():
        other = create_survey(_customer(world.customers.rep3), _user(world, "rep3"),
                              reason=SurveyReason.OTHER)
        expired = create_survey(_customer(world.customers.rep2), _user(world, "rep2"),
                                reason=SurveyReason.OTHER,
                                now=utcnow() - timedelta(days=15))
        db.session.commit()
        signer = URLSafeSerializer(app.secret_key, salt="crm.voice.survey-link")
        mine = db.session.get(Survey, survey_id)
        # Properly signed, but this survey's id with another customer's id and nonce.
        crossed = signer.dumps({"s": survey_id, "c": other.customer_id, "n": other.nonce})
        wrong_customer = signer.dumps({"s": survey_id, "c": other.customer_id,
                                       "n": mine.nonce})
        expired_token = token_for(expired)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    bodies = set()
    for bad in (tampered, crossed, wrong_customer, expired_token, "nonsense",
                URLSafeSerializer("another-key", salt="crm.voice.survey-link").dumps(
                    {"s": survey_id, "c": world.customers.rep, "n": "x"})):
        response = client.get(f"/s?t={bad}")
        assert response.status_code == 404, bad
        bodies.add(response.get_data(as_text=True))
    assert len(bodies) == 1  # nothing tells which way a link is wrong


def test_the_answer_needs_the_pages_own_token(app, world, client):
    _id, token, _form = _survey(app, world)
    with app.app_context():
        other = create_survey(_customer(world.customers.rep2), _user(world, "rep2"),
                              reason=SurveyReason.OTHER)
        db.session.commit()
        other_form = form_token_for(other)
    assert client.post(f"/s?t={token}", data={"score": "4"}).status_code == 400
    assert client.post(f"/s?t={token}", data={"score": "4", "csrf_token": "forged"}
                       ).status_code == 400
    # Another survey's page token does not answer this one.
    assert client.post(f"/s?t={token}", data={"score": "4", "csrf_token": other_form}
                       ).status_code == 404
    # A score off the scale is refused with the form again (and the link still works).
    bad = client.post(f"/s?t={token}", data={"score": "9", "csrf_token": _form})
    assert bad.status_code == 422
    assert client.post(f"/s?t={token}", data={"score": "4", "csrf_token": _form}
                       ).status_code == 200


def test_staff_signed_in_are_refused(app, world, login_as):
    _id, token, form_token = _survey(app, world)
    rep = login_as("rep")
    assert rep.get(f"/s?t={token}").status_code == 403
    assert rep.post(f"/s?t={token}", data={"score": "5", "csrf_token": form_token}
                    ).status_code == 403


def test_survey_requests_are_rate_limited(app, world, client):
    _id, token, _form = _survey(app, world)
    previous = app.config.get("SURVEY_RATE_LIMIT")
    app.config["SURVEY_RATE_LIMIT"] = 3
    try:
        statuses = [client.get(f"/s?t={token}").status_code for _ in range(5)]
        other_address = client.get(f"/s?t={token}",
                                   environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code
    finally:
        if previous is None:
            app.config.pop("SURVEY_RATE_LIMIT")
        else:
            app.config["SURVEY_RATE_LIMIT"] = previous
    assert statuses == [200, 200, 200, 429, 429]
    assert other_address == 200


def test_one_survey_per_customer_per_30_days(app, world, login_as):
    with app.app_context():
        customer, rep = _customer(world.customers.rep), _user(world, "rep")
        create_survey(customer, rep, reason=SurveyReason.OTHER,
                      now=utcnow() - timedelta(days=29, hours=23))
        with pytest.raises(DomainError):
            create_survey(customer, rep, reason=SurveyReason.OTHER)
        db.session.commit()
    client = login_as("rep")
    refused = client.post_form(f"/customers/{world.customers.rep}/surveys",
                               {"reason": "won_deal"})
    assert refused.status_code == 422
    with app.app_context():
        create_survey(_customer(world.customers.rep), _user(world, "rep"),
                      reason=SurveyReason.OTHER, now=utcnow() + timedelta(hours=2))
        assert _count(Survey, Survey.customer_id == world.customers.rep) == 2


def test_the_share_page_shows_the_link_as_text_and_qr(app, world, login_as):
    survey_id, token, _form = _survey(app, world)
    page = login_as("rep").get(f"/surveys/{survey_id}").get_data(as_text=True)
    assert f"/s?t={token}" in page and "<svg" in page
    assert login_as("rep3").get(f"/surveys/{survey_id}").status_code == 404


def test_a_low_score_opens_a_complaint(app, world):
    with app.app_context():
        survey = create_survey(_customer(world.customers.rep), _user(world, "rep"),
                               reason=SurveyReason.REVISIT)
        assert answer_survey(survey, 2, "等了很久") is True
        complaint = db.session.scalar(select(Feedback).where(Feedback.survey_id == survey.id))
        assert complaint.kind == FeedbackKind.COMPLAINT
        assert complaint.channel == Channel.SURVEY
        assert complaint.assignee_id == world.rep.id and "等了很久" in complaint.summary
        assert _count(Notification, Notification.user_id == world.rep.id,
                      Notification.kind == NotificationKind.FEEDBACK_ASSIGNED) == 1
        assert answer_survey(survey, 1, "again") is False  # single use, even here


def test_a_good_score_opens_nothing_and_nps_has_its_own_threshold(app, world):
    with app.app_context():
        survey = create_survey(_customer(world.customers.rep), _user(world, "rep"),
                               reason=SurveyReason.REVISIT)
        answer_survey(survey, 3, None)
        assert _count(Feedback, Feedback.survey_id == survey.id) == 0
        save_settings(world.teams.sz, {"survey_scale": "nps", "low_score_nps": 6})
        nps = create_survey(_customer(world.customers.rep3), _user(world, "rep3"),
                            reason=SurveyReason.OTHER)
        assert nps.scale == SurveyScale.NPS
        with pytest.raises(DomainError):
            answer_survey(nps, 11, None)
        answer_survey(nps, 6, None)
        assert _count(Feedback, Feedback.survey_id == nps.id) == 1


def test_satisfaction_per_rep_and_team(app, world):
    with app.app_context():
        now = utcnow()
        rows = [(world.customers.rep, "rep", 5), (world.customers.rep2, "rep2", 3),
                (world.customers.hz, "hz_rep", None)]
        for customer_id, who, score in rows:
            survey = create_survey(_customer(customer_id), _user(world, who),
                                   reason=SurveyReason.OTHER, now=now)
            if score is not None:
                answer_survey(survey, score, None)
        today = now.date()
        per_rep = satisfaction(today - timedelta(days=1), today + timedelta(days=1))
        assert per_rep[world.rep.id].average() == 5
        assert per_rep[world.hz_rep.id].response_rate == 0
        per_team = satisfaction(today - timedelta(days=1), today + timedelta(days=1),
                                by="team", ids=[world.teams.sh1, world.teams.hz])
        sh1 = per_team[world.teams.sh1]
        assert (sh1.sent, sh1.answered, sh1.response_rate) == (2, 2, 1.0)
        assert sh1.average("stars") == 4 and sh1.distribution == {"stars": {5: 1, 3: 1}}
        assert per_team[world.teams.hz].sent == 1
        # A region counts its teams: east holds sh1 and hz.
        region = satisfaction(today - timedelta(days=1), today + timedelta(days=1), by="team")
        assert (region[world.teams.east].sent, region[world.teams.east].answered) == (3, 2)
        assert world.teams.sz not in region
        # Outside the range: nothing.
        assert satisfaction(today + timedelta(days=5), today + timedelta(days=9)) == {}


def test_the_satisfaction_page(app, world, login_as):
    with app.app_context():
        survey = create_survey(_customer(world.customers.rep), _user(world, "rep"),
                               reason=SurveyReason.OTHER)
        answer_survey(survey, 4, None)
        db.session.commit()
    page = login_as("manager").get("/satisfaction?from=bad&to=", headers=EN)
    assert page.status_code == 200
    assert "Rep" in page.get_data(as_text=True)
    # A rep reads their own figures only.
    mine = login_as("rep2").get("/satisfaction", headers=EN).get_data(as_text=True)
    assert "<td>Rep</td>" not in mine and "No surveys were sent" in mine


# Care ----------------------------------------------------------------------------------------

def test_care_list_across_a_lunar_birthday(app, world):
    with app.app_context():
        lunar = _customer(world.customers.rep)
        # Born 16 Feb 1980 = lunar new year's day (正月初一); in 2027 that is 6 February.
        lunar.birthday, lunar.birthday_lunar = date(1980, 2, 16), True
        solar = _customer(world.customers.rep2)
        solar.birthday, solar.birthday_lunar = date(1980, 2, 16), False
        contact = db.session.get(Contact, world.contact)
        # Born 2 Feb 1984 = 正月初一 1984; in 2027: 6 February too.
        contact.birthday, contact.birthday_lunar = date(1984, 2, 2), True
        db.session.flush()
        everyone = select(Customer)
        week = care.birthdays(everyone, date(2027, 2, 1), 7)
        assert [(b.on, b.name, b.lunar) for b in week] == [
            (date(2027, 2, 6), "张三", True), (date(2027, 2, 6), "陈经理", True)]
        later = care.birthdays(everyone, date(2027, 2, 15), 7)
        assert [(b.on, b.name) for b in later] == [(date(2027, 2, 16), "李四")]
        # Across the year's end: lunar new year 2028 is 26 January (the customer's contact
        # comes with the customer).
        assert [(b.on, b.name) for b in care.birthdays(select(Customer).where(
            Customer.id == lunar.id), date(2028, 1, 20), 10)] == [
            (date(2028, 1, 26), "张三"), (date(2028, 1, 26), "陈经理")]
        # A rep's care list is their own customers only.
        rep2_list = care.birthdays(care.narrow_to(everyone, owner=_user(world, "rep2")),
                                   date(2027, 2, 1), 28)
        assert [b.name for b in rep2_list] == ["李四"]


def test_care_page_valuable_and_silent_customers(app, world, login_as):
    with app.app_context():
        customer = _customer(world.customers.rep)
        customer.tier = Tier.KEY
        customer.last_contact_at = utcnow() - timedelta(days=90)
        feedback = _complaint(world)
        feedback.valuable, feedback.valuable_note = True, "建议改进包装"
        db.session.commit()
    page = login_as("rep").get("/care", headers=EN).get_data(as_text=True)
    assert "建议改进包装" in page and "not thanked yet" in page
    assert "张三" in page.split("gone quiet")[1]
    client = login_as("rep")
    assert client.post_form(f"/customers/{world.customers.rep}/care",
                            {"kind": "gift", "occasion": "thanks", "what": "感谢礼盒",
                             "given_on": date.today().isoformat(),
                             "member_day_id": ""}).status_code == 303
    page = client.get("/care", headers=EN).get_data(as_text=True)
    assert "thanked" in page and "not thanked yet" not in page
    card = client.get(f"/customers/{world.customers.rep}").get_data(as_text=True)
    assert "感谢礼盒" in card
    assert login_as("rep3").get("/care", headers=EN).get_data(as_text=True).count(
        "建议改进包装") == 0


def test_contact_and_customer_forms_edit_lunar_birthdays(app, world, login_as):
    client = login_as("rep")
    saved = client.post_form(
        f"/customers/{world.customers.rep}/contacts/{world.contact}",
        {"name": "陈经理", "phone": "13512340000", "birthday": "1984-02-02",
         "birthday_lunar": "y"})
    assert saved.status_code == 303
    with app.app_context():
        contact = db.session.get(Contact, world.contact)
        assert (contact.birthday, contact.birthday_lunar) == (date(1984, 2, 2), True)
    form = client.get(f"/customers/{world.customers.rep}/sections/basics/edit").get_data(
        as_text=True)
    assert 'name="birthday_lunar"' in form


# Exports read back ---------------------------------------------------------------------------

def _sheet(response):
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(response.data), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def test_feedback_export_reads_back(app, world, login_as):
    with app.app_context():
        _complaint(world, Severity.HIGH, received_at=utcnow() - timedelta(days=2))
        register_feedback(_customer(world.customers.rep3), _user(world, "office"),
                          kind=FeedbackKind.PRAISE, channel=Channel.WECHAT,
                          severity=Severity.LOW, summary="=HYPERLINK(\"x\")")
        db.session.commit()
    rows = _sheet(login_as("office").get("/feedback/export.xlsx?kind=complaint&overdue=1",
                                         headers=EN))
    assert rows[0][:3] == ["Received at", "Customer", "Kind"]
    assert [(r[1], r[2], r[8], r[9]) for r in rows[1:]] == [("张三", "Complaint", "Yes",
                                                            "送货晚了两天")]
    everything = _sheet(login_as("office").get("/feedback/export.xlsx", headers=EN))
    assert ['=HYPERLINK("x")'] == [r[9] for r in everything[1:] if r[2] == "Praise"]
    # A manager's export is their team tree's feedback only.
    managers = _sheet(login_as("manager").get("/feedback/export.xlsx", headers=EN))
    assert {r[1] for r in managers[1:]} == {"张三"}


def test_member_day_reach_and_care_exports_read_back(app, world, login_as):
    with app.app_context():
        _customer(world.customers.rep).tier = Tier.KEY
        _customer(world.customers.rep2).tier = Tier.SUITABLE
        db.session.commit()
    manager = login_as("manager")
    created = manager.post_form("/member-days", {
        "team_id": str(world.teams.sh1), "name": "每月十八会员日", "day_of_month": "18",
        "offer": "老客户九折", "tiers": ["key"]})
    assert created.status_code == 303
    day_url = created.headers["Location"]
    page = manager.get(day_url).get_data(as_text=True)
    assert "张三" in page and "李四" not in page
    rows = _sheet(manager.get(f"{day_url}/export.xlsx", headers=EN))
    assert rows[0][0] == "Customer"
    assert [(r[0], r[2], r[5], r[6]) for r in rows[1:]] == [("张三", "Key", "每月十八会员日",
                                                            "老客户九折")]
    with app.app_context():
        customer = _customer(world.customers.rep)
        customer.birthday = date.today()
        db.session.commit()
    care_rows = _sheet(login_as("office").get("/care/export.xlsx", headers=EN))
    assert ["Birthday", "张三"] == care_rows[1][:2]


def test_the_card_stays_within_its_query_budget(app, world, login_as):
    client = login_as("rep")
    url = f"/customers/{world.customers.rep}"
    client.get(url)
    with count_queries(app) as few:
        client.get(url)
    with app.app_context():
        for n in range(5):
            feedback = _complaint(world)
            change_status(feedback, _user(world, "rep"), FeedbackStatus.IN_PROGRESS)
            db.session.add(CareGesture(customer_id=world.customers.rep, kind="gift",
                                       occasion="other", what=f"礼物{n}",
                                       given_on=date.today(), by_user_id=world.rep.id))
        survey = create_survey(_customer(world.customers.rep), _user(world, "rep"),
                               reason=SurveyReason.OTHER)
        answer_survey(survey, 5, "好")
        db.session.commit()
    with count_queries(app) as many:
        client.get(url)
    assert many.count == few.count


def test_lists_stay_within_their_query_budget(app, world, login_as):
    """The feedback list and the care list send as many statements for one row as for many."""
    manager = login_as("manager")

    def counts() -> list[int]:
        found = []
        for url in ("/feedback", "/care?period=month"):
            manager.get(url)
            with count_queries(app) as counter:
                assert manager.get(url).status_code == 200
            found.append(counter.count)
        return found

    with app.app_context():
        _complaint(world).valuable = True
        db.session.commit()
    few = counts()
    with app.app_context():
        today = date.today()
        for n in range(6):
            feedback = _complaint(world, Severity.HIGH)
            feedback.valuable, feedback.valuable_note = True, f"建议{n}"
        for customer_id in (world.customers.rep, world.customers.rep2):
            customer = _customer(customer_id)
            customer.birthday, customer.tier = date(1980, today.month, min(today.day, 28)), Tier.KEY
        db.session.commit()
    assert counts() == few


def test_the_birthday_prefilter_misses_nobody(app):
    """Against the calendars worked out for everyone: leap months, 30ths of short months,
    29 February and the year's end included."""
    import random

    from crm.birthdays import falls_within

    rng = random.Random(5)
    born = [date(1940, 1, 1) + timedelta(days=rng.randrange(0, 30000)) for _ in range(300)]
    born += [date(1984, 11, 23), date(1987, 7, 26), date(1995, 9, 25), date(2020, 5, 23),
             date(1992, 2, 29), date(2001, 5, 22)]  # leap months, 29 Feb
    with app.app_context():
        rows = [Customer(name=f"寿星{n}", birthday=day, birthday_lunar=n % 2 == 0,
                         search_text="", search_contact="")
                for n, day in enumerate(born)]
        db.session.add_all(rows)
        db.session.flush()
        scope = select(Customer).where(Customer.id.in_([c.id for c in rows]))
        for first, days in ((date(2026, 12, 28), 7), (date(2027, 6, 1), 30),
                            (date(2028, 2, 26), 7), (date(2027, 1, 25), 31)):
            expected = sorted((falls_within(c.birthday, c.birthday_lunar, first, days), c.id)
                              for c in rows
                              if falls_within(c.birthday, c.birthday_lunar, first, days))
            found = sorted((b.on, b.customer.id) for b in care.birthdays(scope, first, days))
            assert found == expected, (first, days)


def test_what_a_pool_customer_said_stays_with_office(app, world, login_as):
    with app.app_context():
        pool = _customer(world.customers.pool)
        feedback = register_feedback(pool, _user(world, "office"), kind=FeedbackKind.COMPLAINT,
                                     channel=Channel.PHONE, severity=Severity.LOW,
                                     summary="退货地址写错了", assignee=_user(world, "office"))
        db.session.commit()
        feedback_id = feedback.id
    for who, status in (("rep", 404), ("manager", 404), ("office", 200), ("admin", 200)):
        assert login_as(who).get(f"/feedback/{feedback_id}").status_code == status, who
    card = login_as("rep3").get(f"/customers/{world.customers.pool}").get_data(as_text=True)
    assert "退货地址写错了" not in card


def test_no_query_or_form_makes_a_500(app, world, login_as, client):
    _id, token, form_token = _survey(app, world)
    with app.app_context():
        feedback = _complaint(world)
        db.session.commit()
        feedback_id = feedback.id
    junk = "?team=x&period=y&from=2026-13-40&to=-&after=%25%25&kind=%00&status=[]&assignee=1e9"
    for who in ("rep", "manager", "office"):
        user = login_as(who)
        for url in ("/feedback", "/feedback/export.xlsx", "/care", "/care/export.xlsx",
                    "/satisfaction", "/member-days", f"/feedback/{feedback_id}",
                    f"/customers/{world.customers.rep}/feedback/new",
                    f"/customers/{world.customers.rep}/care/new"):
            assert user.get(url + junk).status_code < 500, (who, url)
    office = login_as("office")
    posts = [(f"/feedback/{feedback_id}/status", {"status": "nope", "version": "x"}),
             (f"/feedback/{feedback_id}/assign", {"assignee_id": "abc", "severity": "?"}),
             (f"/feedback/{feedback_id}/valuable", {"valuable": "y", "version": "1"}),
             (f"/customers/{world.customers.rep}/surveys", {"reason": "because"}),
             (f"/customers/{world.customers.rep}/care", {"kind": "cake", "given_on": "x",
                                                       "member_day_id": "zz"}),
             ("/member-days", {"team_id": "x", "day_of_month": "31", "tiers": "gold"})]
    for url, data in posts:
        assert office.post_form(url, data).status_code == 422, url
    admin = login_as("admin")
    assert admin.post_form(f"/voice-settings/{world.teams.sh1}", {
        "high_hours": "0", "normal_hours": "2", "low_days": "3",
        "survey_scale": "stars", "survey_days": "5", "low_score_stars": "2",
        "low_score_nps": "6", "silent_days": "30"}).status_code == 422
    for data in ({"score": "abc", "csrf_token": form_token}, {"csrf_token": form_token},
                 {"score": "99", "csrf_token": form_token}):
        assert client.post(f"/s?t={token}", data=data).status_code == 422
    assert client.get("/s").status_code == 404
    assert client.get("/s?t=" + "a" * 5000).status_code == 404


def test_a_won_deal_offers_a_survey(app, world, login_as):
    rep = login_as("rep")
    assert "Send a satisfaction survey" not in rep.get(f"/deals/{world.deal}",
                                                       headers=EN).get_data(as_text=True)
    won = rep.post_form(f"/deals/{world.deal}/move", {"stage": "won", "amount": "5000",
                                                      "version": str(world.deal_version()),
                                                      "back": "/pipeline"})
    assert won.status_code == 303
    page = rep.get(f"/deals/{world.deal}", headers=EN).get_data(as_text=True)
    assert "Send a satisfaction survey" in page
    sent = rep.post_form(f"/customers/{world.customers.rep}/surveys", {"reason": "won_deal"})
    assert sent.status_code == 303 and "/surveys/" in sent.headers["Location"]


def test_a_survey_comment_becomes_feedback(app, world, login_as):
    with app.app_context():
        survey = create_survey(_customer(world.customers.rep), _user(world, "rep"),
                               reason=SurveyReason.OTHER)
        answer_survey(survey, 4, "希望能提供夜间配送")
        db.session.commit()
        survey_id = survey.id
    rep = login_as("rep")
    share = rep.get(f"/surveys/{survey_id}", headers=EN).get_data(as_text=True)
    assert "Register the comment as feedback" in share
    form = rep.get(f"/customers/{world.customers.rep}/feedback/new?survey={survey_id}"
                   ).get_data(as_text=True)
    assert "希望能提供夜间配送" in form and f'value="{survey_id}"' in form
    saved = rep.post_form(f"/customers/{world.customers.rep}/feedback", {
        "kind": "suggestion", "channel": "survey", "severity": "low",
        "summary": "希望能提供夜间配送", "assignee_id": "", "survey_id": str(survey_id)})
    assert saved.status_code == 303
    with app.app_context():
        feedback = db.session.scalar(select(Feedback).where(
            Feedback.kind == FeedbackKind.SUGGESTION))
        assert feedback.survey_id == survey_id and feedback.channel == Channel.SURVEY
    # Another customer's survey id is ignored.
    rep.post_form(f"/customers/{world.customers.rep}/feedback", {
        "kind": "praise", "channel": "visit", "severity": "low", "summary": "好",
        "assignee_id": "", "survey_id": "999999"})
    with app.app_context():
        praise = db.session.scalar(select(Feedback).where(Feedback.kind == FeedbackKind.PRAISE))
        assert praise.survey_id is None


def test_logging_a_revisit_offers_the_survey_for_it(app, world, login_as):
    rep = login_as("rep")
    saved = rep.post_form(f"/customers/{world.customers.rep}/follow-ups",
                          {"kind": "revisit", "occurred_at": "2026-11-30T10:00",
                           "summary": "售后回访，客户使用顺利"}, headers={"Accept-Language": "en"})
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith(
        f"/customers/{world.customers.rep}?survey=revisit#voice")
    card = rep.get(saved.headers["Location"], headers={"Accept-Language": "en"})
    html = card.get_data(as_text=True)
    assert "Revisit saved. Ask the customer how satisfied they are" in html
    assert "The revisit is saved: ask how satisfied the customer is." in html
    assert '<option selected value="revisit">' in html or \
        '<option value="revisit" selected>' in html
    visit = rep.post_form(f"/customers/{world.customers.rep}/follow-ups",
                          {"kind": "visit", "occurred_at": "2026-11-30T11:00",
                           "summary": "普通拜访"})
    assert "survey=revisit" not in visit.headers["Location"]
