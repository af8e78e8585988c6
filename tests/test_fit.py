"""Fit scores against a team's ideal customer profile: hand-computed cases, kept current
when the customer or the profile changes."""

from sqlalchemy import select

from crm.accounts.models import Role, User
from crm.customers.editing import update_section
from crm.customers.models import Customer
from crm.extensions import db
from crm.routing import fit
from crm.routing.models import CustomerFit

# Best possible: industry 3 + size 2 + tier 1 = 6.
PROFILE = [("industry", "制造业", 3), ("industry", "医疗", 2), ("size_band", "large", 2),
           ("size_band", "medium", 1), ("tier", "key", 1)]


def _score(team_id, customer_id):
    return db.session.scalar(select(CustomerFit.score).where(
        CustomerFit.team_id == team_id, CustomerFit.customer_id == customer_id))


def test_hand_computed_scores(app, world, make_customer):
    team = world.teams.sh1
    big = make_customer(None, industry="制造业", size_band="large", tier="key")
    clinic = make_customer(None, industry="医疗", size_band="medium")
    shop = make_customer(None, industry="零售")
    half = make_customer(None, industry="制造业")
    with app.app_context():
        fit.set_profile(team, PROFILE)
        assert _score(team, big) == 100       # 6 / 6
        assert _score(team, clinic) == 50     # (2 + 1) / 6
        assert _score(team, shop) == 0
        assert _score(team, half) == 50       # 3 / 6
        # Values compare without case; another team without a profile has no scores.
        assert _score(world.teams.sz, big) is None


def test_scores_follow_the_customer_and_new_customers(app, world, make_customer):
    team = world.teams.sh1
    with app.app_context():
        fit.set_profile(team, PROFILE)
        db.session.commit()
    customer_id = make_customer(None, industry="医疗")
    with app.app_context():
        assert _score(team, customer_id) == 33  # 2 / 6 = 0.333
        customer = db.session.get(Customer, customer_id)
        admin = db.session.get(User, world.admin.id)
        update_section(customer, customer.version, "basics",
                       {"kind": "organisation", "name": customer.name, "industry": "制造业",
                        "size_band": "large", "tier": "general"}, admin)
        assert _score(team, customer_id) == 83  # (3 + 2) / 6


def test_scores_follow_the_profile(app, world, make_customer):
    team = world.teams.sh1
    customer_id = make_customer(None, industry="制造业", region="上海")
    with app.app_context():
        fit.set_profile(team, PROFILE)
        assert _score(team, customer_id) == 50
        fit.set_profile(team, [("industry", "制造业", 1), ("region", "上海", 1)])
        assert _score(team, customer_id) == 100
        fit.set_profile(team, [])
        assert _score(team, customer_id) is None


def test_a_team_uses_the_nearest_profile_above_it(app, world):
    from crm import access

    with app.app_context():
        fit.set_profile(world.teams.east, PROFILE)
        rep = db.session.get(User, world.rep.id)
        assert access.profile_team_id(rep) == world.teams.east
        fit.set_profile(world.teams.sh1, PROFILE[:1])
        assert access.profile_team_id(rep) == world.teams.sh1
        office = db.session.get(User, world.office.id)
        assert office.role == Role.OFFICE and access.profile_team_id(office) is None
