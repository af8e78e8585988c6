"""Check-in (签到) at the customer: distance to the saved location, far and imprecise flags
(never a refusal), the first check-in setting the location, check-out, and a day's list."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.checkins.checking import distance_metres
from crm.checkins.models import CheckIn, CustomerLocation
from crm.extensions import db
from tests.conftest import count_queries

JSON = {"Accept": "application/json", "Accept-Language": "en"}
# People's Square, Shanghai, and points about 100 m and 1 km north of it.
HOME = (31.2304, 121.4737)
NEAR = (31.2313, 121.4737)
FAR = (31.2394, 121.4737)


def _check_in(client, customer_id, where, accuracy="15", **extra):
    return client.post_form(f"/customers/{customer_id}/check-ins",
                            {"latitude": str(where[0]), "longitude": str(where[1]),
                             "accuracy": accuracy, **extra}, headers=JSON)


def test_distance_is_the_great_circle_distance():
    assert distance_metres(*HOME, *HOME) == 0
    assert 95 < distance_metres(*HOME, *NEAR) < 105
    assert 990 < distance_metres(*HOME, *FAR) < 1010


def test_the_first_check_in_offers_to_set_the_location_and_keeps_who(app, world, login_as):
    rep = login_as("rep")
    first = _check_in(rep, world.customers.rep, HOME)
    assert first.status_code == 201
    answer = first.get_json()
    assert answer["distance"] is None and "No saved location" in answer["message"]
    with app.app_context():
        assert db.session.get(CustomerLocation, world.customers.rep) is None
    saved = _check_in(rep, world.customers.rep, HOME, set_location="y")
    assert saved.get_json()["distance"] == 0 and not saved.get_json()["far"]
    with app.app_context():
        location = db.session.get(CustomerLocation, world.customers.rep)
        assert location.set_by_id == world.rep.id and location.set_at is not None
    # A later check-in does not move it.
    _check_in(rep, world.customers.rep, FAR, set_location="y")
    with app.app_context():
        assert db.session.get(CustomerLocation, world.customers.rep).latitude == HOME[0]


def test_far_and_imprecise_check_ins_are_flagged_never_refused(app, world, login_as):
    rep = login_as("rep")
    _check_in(rep, world.customers.rep, HOME, set_location="y")
    near = _check_in(rep, world.customers.rep, NEAR).get_json()
    assert not near["far"] and not near["inaccurate"] and 95 < near["distance"] < 105
    far = _check_in(rep, world.customers.rep, FAR)
    assert far.status_code == 201 and far.get_json()["far"]
    assert "Far from the customer" in far.get_json()["message"]
    vague = _check_in(rep, world.customers.rep, NEAR, accuracy="650").get_json()
    assert vague["inaccurate"] and not vague["far"]


def test_check_out_records_the_duration_and_is_the_makers_only(app, world, login_as):
    rep = login_as("rep")
    entry = _check_in(rep, world.customers.rep, HOME).get_json()
    with app.app_context():
        made = db.session.get(CheckIn, entry["id"])
        made.at = made.at - timedelta(minutes=42)
        db.session.commit()
    assert login_as("manager").post_form(entry["check_out"], headers=JSON).status_code == 404
    out = rep.post_form(entry["check_out"], headers=JSON)
    assert out.status_code == 200 and out.get_json()["minutes"] == 42
    with app.app_context():
        assert db.session.get(CheckIn, entry["id"]).minutes == 42


@pytest.mark.parametrize("form", [{"latitude": "abc", "longitude": "121"},
                                  {"latitude": "95", "longitude": "121"},
                                  {"latitude": "nan", "longitude": "121"}, {}])
def test_a_bad_position_is_refused_with_a_message(app, world, login_as, form):
    rep = login_as("rep")
    response = rep.post_form(f"/customers/{world.customers.rep}/check-ins", form, headers=JSON)
    assert response.status_code == 422 and response.get_json()["error"]
    plain = rep.post_form(f"/customers/{world.customers.rep}/check-ins", form)
    assert plain.status_code == 303
    with app.app_context():
        assert db.session.scalars(select(CheckIn)).all() == []


def test_a_managers_view_of_a_reps_day_shows_the_flags(app, world, login_as):
    rep = login_as("rep")
    _check_in(rep, world.customers.rep, HOME, set_location="y")
    _check_in(rep, world.customers.rep, FAR)
    manager = login_as("manager")
    page = manager.get(f"/check-ins?person={world.rep.id}", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count('id="check-in-') == 2
    assert ">Far<" in html and "张三" in html
    assert login_as("rep2").get(f"/check-ins?person={world.rep.id}").status_code == 404
    assert manager.get("/check-ins?person=abc&day=not-a-day").status_code == 200


def test_the_day_page_does_not_grow_with_its_check_ins(app, world, login_as):
    rep = login_as("rep")
    _check_in(rep, world.customers.rep, HOME)
    with count_queries(app) as few:
        rep.get("/check-ins")
    for _ in range(5):
        _check_in(rep, world.customers.rep, NEAR)
    with count_queries(app) as many:
        rep.get("/check-ins")
    assert many.count == few.count


def test_the_visit_logged_after_checking_in_carries_the_check_in(app, world, login_as):
    from crm.followups.models import FollowUp

    rep = login_as("rep")
    _check_in(rep, world.customers.rep, HOME, set_location="y")
    _check_in(rep, world.customers.rep, FAR)
    login_as("manager")  # another person's check-in elsewhere never joins this visit
    saved = rep.post_form(f"/customers/{world.customers.rep}/follow-ups",
                          {"kind": "visit", "occurred_at": "2099-01-01T00:00",
                           "summary": "签到后的拜访"}, headers=JSON)
    assert saved.status_code == 422  # in the future: refused, and nothing linked
    with app.app_context():
        assert db.session.scalars(select(CheckIn.follow_up_id)).all() == [None, None]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    when = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    saved = rep.post_form(f"/customers/{world.customers.rep}/follow-ups",
                          {"kind": "visit", "occurred_at": when, "summary": "签到后的拜访"},
                          headers=JSON)
    assert saved.status_code == 201
    with app.app_context():
        visit = db.session.scalars(select(FollowUp).where(
            FollowUp.summary == "签到后的拜访")).one()
        linked = db.session.scalars(select(CheckIn).order_by(CheckIn.id)).all()
        assert [c.follow_up_id for c in linked] == [None, visit.id]  # the latest one
    card = login_as("manager").get(f"/customers/{world.customers.rep}",
                                   headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Checked in at" in card and ">Far<" in card


def test_the_far_distance_is_the_teams_setting(app, world, login_as):
    from crm.accounts.models import Team

    rep = login_as("rep")
    _check_in(rep, world.customers.rep, HOME, set_location="y")
    with app.app_context():
        db.session.get(Team, world.teams.sh1).check_in_far_metres = 2000
        db.session.commit()
    assert not _check_in(rep, world.customers.rep, FAR).get_json()["far"]  # 1 km < 2 km
    admin = login_as("admin")
    page = admin.get(f"/admin/teams/{world.teams.sh1}/edit").get_data(as_text=True)
    assert 'name="check_in_far_metres"' in page and 'value="2000"' in page
