"""Access is decided in crm/access.py only: the timeline's leak, the new scopes, and guards
that keep role comparisons out of views, templates and navigation."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from crm import access
from crm.accounts.models import User
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.pipeline.models import DealEvent
from crm.recordings.models import Recording

ROOT = Path(__file__).resolve().parent.parent
EN = {"Accept-Language": "en"}


def _lose_and_release(world, login_as):
    """rep2 opens a deal on their customer, loses it, and releases the customer to the pool."""
    rep2 = login_as("rep2")
    customer = world.customers.rep2
    created = rep2.post_form(f"/customers/{customer}/deals",
                             {"title": "机密扩容项目", "grade": "B", "stage": "inquiry"})
    assert created.status_code == 303
    deal_id = int(created.headers["Location"].rsplit("/", 1)[1])
    lost = rep2.post_form(f"/deals/{deal_id}/move",
                          {"stage": "lost", "reason": "对手报价低三成", "version": "1",
                           "back": "/pipeline"})
    assert lost.status_code == 303
    released = rep2.post_form(f"/customers/{customer}/release", {"reason": "不再跟进"})
    assert released.status_code == 303
    return customer, deal_id


def test_a_pool_card_shows_no_deal_events_of_deals_the_viewer_may_not_open(app, world,
                                                                              login_as):
    customer, deal_id = _lose_and_release(world, login_as)
    rep3 = login_as("rep3")  # another team
    assert rep3.get(f"/deals/{deal_id}").status_code == 404
    card = rep3.get(f"/customers/{customer}", headers=EN)
    assert card.status_code == 200
    page = card.get_data(as_text=True)
    assert "机密扩容项目" not in page
    assert "对手报价低三成" not in page
    # The customer's own history (it went back to the pool) is still there for everyone.
    assert "不再跟进" in page


def test_those_who_may_open_the_deal_still_see_its_events(world, login_as):
    customer, _deal_id = _lose_and_release(world, login_as)
    for who in ("rep2", "manager", "office"):
        page = login_as(who).get(f"/customers/{customer}").get_data(as_text=True)
        assert "机密扩容项目" in page, who
        assert "对手报价低三成" in page, who


def _ids(app, who, scope_for, model):
    with app.app_context():
        user = db.session.get(User, who.id)
        return set(db.session.scalars(scope_for(user).with_only_columns(model.id)))


def test_deal_events_scope_follows_deals_scope(app, world, make_deal):
    with app.app_context():
        every = set(db.session.scalars(select(DealEvent.id)))
    assert every
    rep_events = _ids(app, world.rep, access.deal_events_scope, DealEvent)
    rep3_events = _ids(app, world.rep3, access.deal_events_scope, DealEvent)
    assert rep_events and rep3_events and not rep_events & rep3_events
    assert _ids(app, world.office, access.deal_events_scope, DealEvent) == every
    # The region manager leads rep's team (not rep3's).
    assert _ids(app, world.region_manager, access.deal_events_scope, DealEvent) == rep_events


def test_a_deal_row_is_judged_as_deals_scope_judges_it(app, world, make_deal, make_customer):
    """sees_deal (a card's few deals, tested row by row) and deals_scope (lists) are one rule:
    for every role they pick the same deals and the same events, including a deal whose
    owner is not the customer's owner and a deal on a customer back in the pool."""
    from crm.customers.models import Customer
    from crm.pipeline.models import Deal

    theirs = make_deal(world.customers.rep2, title="别人的客户上我的单")
    pooled = make_customer(world.rep2, name="回公海客户")
    on_pooled = make_deal(pooled, title="公海客户的单")
    make_deal(world.customers.rep, title="自己的单")
    with app.app_context():
        db.session.get(Deal, theirs).owner_id = world.rep.id
        db.session.get(Customer, pooled).owner_id = None
        db.session.commit()
        users = db.session.scalars(select(User)).all()
        assert len(users) >= 6 and db.session.get(Deal, on_pooled).owner_id == world.rep2.id
        for user in users:
            by_scope = set(db.session.scalars(access.deals_scope(user)
                                              .with_only_columns(Deal.id)))
            by_row = set(db.session.scalars(select(Deal.id).where(access.sees_deal(user))))
            assert by_row == by_scope, user.email
            events = set(db.session.scalars(access.deal_events_scope(user)
                                            .with_only_columns(DealEvent.id)))
            assert events == set(db.session.scalars(select(DealEvent.id).where(
                DealEvent.deal_id.in_(by_scope)))), user.email
        rep = db.session.get(User, world.rep.id)
        assert theirs in set(db.session.scalars(select(Deal.id).where(access.sees_deal(rep))))


def test_follow_ups_scope_follows_customers_scope(app, world):
    visit = {world.ride_along}
    assert _ids(app, world.rep, access.follow_ups_scope, FollowUp) == visit
    assert _ids(app, world.manager, access.follow_ups_scope, FollowUp) == visit
    assert _ids(app, world.admin, access.follow_ups_scope, FollowUp) == visit
    assert _ids(app, world.rep2, access.follow_ups_scope, FollowUp) == set()
    assert _ids(app, world.rep3, access.follow_ups_scope, FollowUp) == set()


@pytest.mark.recording
def test_recordings_in_the_pool_are_heard_by_office_and_admin_only(app, world, login_as):
    recording = world.recording
    assert _ids(app, world.rep, access.recordings_scope, Recording) == {recording}
    assert _ids(app, world.manager2, access.recordings_scope, Recording) == set()
    released = login_as("rep").post_form(f"/customers/{world.customers.rep}/release",
                                         {"reason": "换人跟进"})
    assert released.status_code == 303
    # In the pool: reps and managers still see the card, but not the voice.
    assert _ids(app, world.rep, access.recordings_scope, Recording) == set()
    assert _ids(app, world.rep3, access.recordings_scope, Recording) == set()
    assert _ids(app, world.office, access.recordings_scope, Recording) == {recording}
    assert login_as("rep3").get(f"/recordings/{recording}/audio").status_code == 404
    assert login_as("office").get(f"/recordings/{recording}").status_code == 200


# Guards ----------------------------------------------------------------------------------

# Filtering a list by the role someone picked (`User.role == Role(picked)`) is not a decision
# about access; comparing with a named role is.
ROLE_COMPARISON = re.compile(
    r"\.role\s*(==|!=|\bin\b|\bnot in\b)(?!\s*Role\()|\bRole\.(REP|MANAGER|OFFICE|ADMIN)\b")
TEMPLATE_ROLE = re.compile(r"current_user\.role(?!\s*\))")


def _sources(patterns):
    for pattern in patterns:
        yield from sorted(ROOT.glob(pattern))


def test_no_view_or_navigation_compares_roles():
    offenders = []
    for path in _sources(["crm/*/views.py", "crm/*/*_views.py", "crm/navigation.py"]):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if ROLE_COMPARISON.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "ask a predicate of crm/access.py instead:\n" + "\n".join(offenders)


def test_no_template_compares_roles():
    offenders = []
    for path in _sources(["templates/**/*.html"]):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            # Showing the role's name (role_label(current_user.role)) is not a comparison.
            if TEMPLATE_ROLE.search(line.replace("role_label(current_user.role)", "")):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "ask access.<predicate>(current_user) instead:\n" + "\n".join(
        offenders)


def test_no_views_module_imports_from_another_areas_views():
    offenders = []
    for path in _sources(["crm/*/views.py", "crm/*/*_views.py"]):
        area = path.parent.name
        for line in path.read_text().splitlines():
            found = re.match(r"from crm\.(\w+)\.(\w*views) import", line)
            if found and found.group(1) != area:
                offenders.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert offenders == []


def test_domain_modules_never_commit():
    """Only views, jobs and the CLI own a transaction."""
    owners = {"views.py", "jobs.py", "cli.py", "demo.py"}
    offenders = []
    for path in _sources(["crm/*/*.py"]):
        if path.name in owners or path.name.endswith("_views.py"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\bsession\.(commit|rollback)\(", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "\n".join(offenders)
