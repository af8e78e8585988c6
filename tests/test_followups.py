"""Follow-ups: logging from the card (in the user's time zone), the timeline, last contact,
my follow-ups, what is due on Today, and ride-along notes."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crm.clock import utcnow
from crm.customers.models import Customer
from crm.extensions import db
from crm.followups.models import Companion, FollowUp, FollowUpKind
from tests.conftest import count_queries

EN = {"Accept-Language": "en"}
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _local(dt: datetime) -> str:
    return dt.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def _log(client, customer_id, **form):
    data = {"kind": "visit", "occurred_at": _local(utcnow() - timedelta(minutes=5)),
            "summary": "拜访客户，了解需求", **form}
    return client.post_form(f"/customers/{customer_id}/follow-ups", data, headers=EN)


def test_log_a_visit_from_the_card(app, world, login_as):
    rep = login_as("rep")
    card = rep.get(f"/customers/{world.customers.rep}").get_data(as_text=True)
    assert f"/customers/{world.customers.rep}/follow-ups/new" in card
    form = rep.get(f"/customers/{world.customers.rep}/follow-ups/new").get_data(as_text=True)
    assert 'name="occurred_at"' in form and 'type="datetime-local"' in form
    response = _log(rep, world.customers.rep, location="客户办公室", next_step="发报价",
                    next_date=(utcnow() + timedelta(days=3)).date().isoformat(),
                    companions=[str(world.manager.id)])
    assert response.status_code == 303
    with app.app_context():
        follow_up = db.session.scalars(select(FollowUp).where(
            FollowUp.summary == "拜访客户，了解需求")).one()
        assert follow_up.kind == FollowUpKind.VISIT and follow_up.location == "客户办公室"
        assert [c.user_id for c in follow_up.companions] == [world.manager.id]
        customer = db.session.get(Customer, world.customers.rep)
        assert customer.last_contact_at >= follow_up.occurred_at
    card = rep.get(f"/customers/{world.customers.rep}").get_data(as_text=True)
    timeline = card.split('id="timeline"')[1]
    assert "拜访客户，了解需求" in timeline and "发报价" in timeline


def test_the_time_is_read_in_the_users_zone(app, world, login_as):
    rep = login_as("rep")
    _log(rep, world.customers.rep, occurred_at="2026-01-05T09:30")
    with app.app_context():
        follow_up = db.session.scalars(select(FollowUp).order_by(FollowUp.id.desc())).first()
        assert follow_up.occurred_at == datetime(2026, 1, 5, 1, 30, tzinfo=ZoneInfo("UTC"))


def test_a_late_entry_does_not_move_last_contact_back(app, world, login_as):
    rep = login_as("rep")
    _log(rep, world.customers.rep)
    _log(rep, world.customers.rep, occurred_at=_local(utcnow() - timedelta(days=10)))
    with app.app_context():
        latest = db.session.scalar(select(FollowUp.occurred_at).order_by(
            FollowUp.occurred_at.desc()).limit(1))
        assert db.session.get(Customer, world.customers.rep).last_contact_at == latest


def test_a_note_is_not_a_contact(app, world, login_as):
    rep = login_as("rep")
    before = world.version_of(world.customers.rep)
    with app.app_context():
        was = db.session.get(Customer, world.customers.rep2).last_contact_at
    _log(login_as("rep2"), world.customers.rep2, kind="note", summary="内部备注")
    with app.app_context():
        assert db.session.get(Customer, world.customers.rep2).last_contact_at == was
    assert world.version_of(world.customers.rep) == before  # logging is not a card edit
    assert rep is not None


def test_bad_input_keeps_what_was_typed(app, world, login_as):
    rep = login_as("rep")
    future = _log(rep, world.customers.rep, occurred_at=_local(utcnow() + timedelta(days=1)),
                  summary="未来的拜访")
    assert future.status_code == 422
    html = future.get_data(as_text=True)
    assert "cannot happen in the future" in html and "未来的拜访" in html
    empty = _log(rep, world.customers.rep, summary="")
    assert empty.status_code == 422
    with app.app_context():
        assert db.session.scalars(select(FollowUp).where(
            FollowUp.summary == "未来的拜访")).first() is None


def test_companions_must_be_colleagues_one_may_see(app, world, login_as):
    rep = login_as("rep")
    _log(rep, world.customers.rep, summary="带了别的团队的人", companions=[str(world.rep3.id)])
    with app.app_context():
        follow_up = db.session.scalars(select(FollowUp).where(
            FollowUp.summary == "带了别的团队的人")).one()
        assert follow_up.companions == []


def test_my_follow_ups_and_what_is_due_today(app, world, login_as):
    rep = login_as("rep2")
    _log(rep, world.customers.rep2, summary="今天的拜访",
         next_date=(utcnow().astimezone(SHANGHAI).date() - timedelta(days=1)).isoformat(),
         next_step="回电确认")
    mine = rep.get("/follow-ups", headers=EN).get_data(as_text=True)
    assert "今天的拜访" in mine.split("Earlier this week")[0]
    today = rep.get("/", headers=EN).get_data(as_text=True)
    due = today.split('id="due"')[1]
    assert "李四" in due and "回电确认" in due
    # Following up again clears it.
    _log(rep, world.customers.rep2, summary="又联系了",
         occurred_at=_local(utcnow() - timedelta(minutes=1)))
    assert 'id="due"' not in rep.get("/", headers=EN).get_data(as_text=True)


def test_today_offers_logging_and_the_picker_searches_my_customers(world, login_as):
    rep = login_as("rep")
    assert "/follow-ups/new" in rep.get("/").get_data(as_text=True)
    picked = rep.get("/follow-ups/new?q=zs").get_data(as_text=True)
    assert f"/customers/{world.customers.rep}/follow-ups/new" in picked
    assert "李四" not in picked
    fragment = rep.get("/follow-ups/new?q=zs", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)


def test_ride_along_notes(app, world, login_as):
    manager = login_as("manager")
    page = manager.get("/follow-ups/ride-alongs").get_data(as_text=True)
    assert "初次拜访" in page
    response = manager.post_form(f"/follow-ups/{world.ride_along}/companion-notes",
                                 {"notes": "开场自然，报价前要先确认预算"})
    assert response.status_code == 303
    with app.app_context():
        companion = db.session.scalars(select(Companion).where(
            Companion.follow_up_id == world.ride_along)).one()
        assert companion.notes == "开场自然，报价前要先确认预算" and companion.notes_at
    card = login_as("rep").get(f"/customers/{world.customers.rep}").get_data(as_text=True)
    assert "报价前要先确认预算" in card
    assert login_as("rep2").post_form(f"/follow-ups/{world.ride_along}/companion-notes",
                                      {"notes": "x"}).status_code == 404


def test_card_query_count_does_not_grow_with_follow_ups(app, world, login_as):
    rep = login_as("rep")
    url = f"/customers/{world.customers.rep}"
    rep.get(url)
    with count_queries(app) as few:
        rep.get(url)
    for n in range(25):
        _log(rep, world.customers.rep, summary=f"第{n}次", companions=[str(world.manager.id)])
    with count_queries(app) as many:
        rep.get(url)
    assert few.count == many.count


def test_a_form_sent_twice_saves_once(app, world, login_as):
    """On a weak network the page may send the notes again after the first copy arrived; the
    form's key finds the saved follow-up instead of making a second."""
    rep = login_as("rep")
    form = rep.get(f"/customers/{world.customers.rep}/follow-ups/new").get_data(as_text=True)
    key = form.split('name="submission_key" type="hidden" value="')[1].split('"')[0]
    assert len(key) >= 24
    json_headers = {"Accept": "application/json"}
    first = _log(rep, world.customers.rep, submission_key=key, summary="弱网下的拜访记录")
    again = rep.post_form(f"/customers/{world.customers.rep}/follow-ups",
                          {"kind": "visit", "occurred_at": _local(utcnow()),
                           "summary": "弱网下的拜访记录", "submission_key": key},
                          headers=json_headers)
    assert first.status_code == 303 and again.status_code == 201
    with app.app_context():
        saved = db.session.scalars(select(FollowUp).where(
            FollowUp.summary == "弱网下的拜访记录")).all()
    assert len(saved) == 1
    assert again.get_json()["upload_url"] == f"/follow-ups/{saved[0].id}/recordings"
    # Another rep's form key is not a way to someone else's follow-up.
    other = login_as("manager").post_form(
        f"/customers/{world.customers.rep}/follow-ups",
        {"kind": "visit", "occurred_at": _local(utcnow()), "summary": "经理补记",
         "submission_key": "manager-own-key"}, headers=json_headers)
    assert other.status_code == 201
