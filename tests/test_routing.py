"""Routing new customers: rules in order, specialties, least work, round-robin ties, caps,
away and inactive reps, nobody eligible; 50 leads at once from threads."""

import threading
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from crm.accounts.models import Role, Team, User
from crm.customers.editing import create_customer
from crm.customers.models import Customer, OwnershipChange, OwnershipEvent
from crm.extensions import db
from crm.notifications.models import Notification, NotificationKind
from crm.routing import routing
from crm.routing.models import BalanceBy, RoutingRule, TeamRouting


def _rule(team_id, position=0, name="全部", **fields) -> int:
    rule = RoutingRule(team_id=team_id, position=position, name=name,
                       match_industry=fields.pop("match_industry", False),
                       match_size=fields.pop("match_size", False),
                       match_region=fields.pop("match_region", False), **fields)
    db.session.add(rule)
    db.session.flush()
    return rule.id


def _lead(n, **values) -> Customer:
    return create_customer({"name": f"线索{n}", **values}, None)


def _route(team_id, *customers):
    team = db.session.get(Team, team_id)
    return routing.route_customers([c.id for c in customers], team, None)


@pytest.fixture
def team(app, make_team, make_user):
    """A team of three reps: a manufacturing specialist, a healthcare one, a generalist."""
    team_id = make_team("Routing")
    manager = make_user(Role.MANAGER, team_id, name="Boss")
    makers = make_user(Role.REP, team_id, name="Mia", specialty_industries="制造业, 化工",
                       specialty_size_band="large", specialty_regions="上海")
    health = make_user(Role.REP, team_id, name="Hal", specialty_industries="医疗")
    anyone = make_user(Role.REP, team_id, name="Ann")
    return type("T", (), {"id": team_id, "manager": manager, "makers": makers,
                          "health": health, "anyone": anyone})


def test_rules_apply_in_order_with_specialties(app, team):
    with app.app_context():
        _rule(team.id, 0, "制造业大客户", industries="制造业", size_bands="large",
              match_industry=True)
        _rule(team.id, 1, "医疗", industries="医疗", match_industry=True)
        _rule(team.id, 2, "其余")
        big, clinic, shop = (_lead(1, industry="制造业", size_band="large"),
                             _lead(2, industry="医疗"), _lead(3, industry="零售"))
        decisions = _route(team.id, big, clinic, shop)
        assert [d.owner.id for d in decisions] == [team.makers.id, team.health.id,
                                                    team.anyone.id]
        assert [d.rule.name for d in decisions] == ["制造业大客户", "医疗", "其余"]
        db.session.expire_all()
        assert db.session.get(Customer, big.id).owner_id == team.makers.id
        assert db.session.get(Customer, big.id).protected_until is not None
        event = db.session.scalars(select(OwnershipEvent).where(
            OwnershipEvent.customer_id == big.id,
            OwnershipEvent.kind == OwnershipChange.ROUTE)).one()
        assert event.to_user_id == team.makers.id
        assert event.routing["rule"] == "制造业大客户"
        assert event.routing["candidates"][0] == {"id": team.makers.id, "name": "Mia",
                                                  "load": 0, "status": "chosen"}
        assert "制造业大客户" in routing.explain(event.routing)


def test_conditions_compare_without_case_and_accept_lists(app, team):
    with app.app_context():
        rule = RoutingRule(team_id=team.id, name="x", industries="Retail，制造业",
                           sources="展会, web")
        assert routing.rule_matches(rule, {"industry": "retail", "source_channel": "WEB"})
        assert not routing.rule_matches(rule, {"industry": "retail", "source_channel": "电话"})
        assert not routing.rule_matches(rule, {"industry": None, "source_channel": "web"})
        assert routing.rule_matches(RoutingRule(team_id=team.id, name="all"), {})


def test_fewest_open_customers_then_round_robin_on_ties(app, team, make_customer):
    with app.app_context():
        _rule(team.id, 0, "医疗或其他")
        # Mia holds two, Hal one, Ann none.
        for owner in (team.makers, team.makers, team.health):
            make_customer(owner)
        leads = [_lead(n) for n in range(6)]
        owners = [d.owner.id for d in _route(team.id, *leads)]
        # Ann (0); Ann and Hal tie at 1: Hal (never routed) then Ann; all at 2: Mia (never
        # routed), Hal, Ann — everyone ends at 3.
        assert owners == [team.anyone.id, team.health.id, team.anyone.id, team.makers.id,
                          team.health.id, team.anyone.id]
        decisions = _route(team.id, _lead(10))
        assert decisions[0].because == routing.ROUND_ROBIN
        # All tied at 3: the one whose last lead is oldest.
        assert decisions[0].owner.id == team.makers.id


def test_balance_by_open_deals(app, team, make_customer, make_deal):
    with app.app_context():
        _rule(team.id)
        db.session.add(TeamRouting(team_id=team.id, balance_by=BalanceBy.DEALS))
        db.session.flush()
        # Ann holds the most customers but no open deal; Mia and Hal each have one.
        for _n in range(3):
            make_customer(team.anyone)
        make_deal(make_customer(team.makers))
        make_deal(make_customer(team.health))
        decision = _route(team.id, _lead(1))[0]
        assert decision.owner.id == team.anyone.id and decision.because == routing.FEWEST


def test_away_inactive_and_full_reps_are_passed_over(app, team, make_customer):
    with app.app_context():
        _rule(team.id)
        db.session.get(User, team.anyone.id).away_until = date.today() + timedelta(days=2)
        db.session.get(User, team.health.id).active = False
        team_row = db.session.get(Team, team.id)
        team_row.holding_limit = 2
        make_customer(team.makers)
        db.session.flush()
        first, second = _route(team.id, _lead(1), _lead(2))
        assert first.owner.id == team.makers.id
        assert {c["id"]: c["status"] for c in first.candidates} == {
            team.makers.id: "chosen", team.anyone.id: routing.AWAY}  # inactive: not a candidate
        # Mia is now at the limit of 2: nobody is left.
        assert second.owner is None and second.because == routing.NONE_ELIGIBLE


def test_away_ends_the_day_after(app, team):
    with app.app_context():
        _rule(team.id, match_industry=True, industries="医疗")
        db.session.get(User, team.health.id).away_until = date.today() - timedelta(days=1)
        db.session.flush()
        assert _route(team.id, _lead(1, industry="医疗"))[0].owner.id == team.health.id


def test_no_eligible_rep_leaves_the_lead_in_the_pool_and_tells_the_manager(app, team):
    with app.app_context():
        _rule(team.id, 0, "医疗", industries="医疗", match_industry=True)
        db.session.get(User, team.health.id).away_until = date.today() + timedelta(days=5)
        db.session.flush()
        lead = _lead(1, industry="医疗")
        decision = _route(team.id, lead)[0]
        assert decision.owner is None and decision.because == routing.NONE_ELIGIBLE
        assert db.session.get(Customer, lead.id).owner_id is None
        note = db.session.scalars(select(Notification).where(
            Notification.kind == NotificationKind.LEAD_UNROUTED)).one()
        assert note.user_id == team.manager.id and note.customer_id == lead.id
        assert note.link == f"/customers/{lead.id}"
        # A lead no rule covers stays too, and says so.
        other = _lead(2, industry="零售")
        assert _route(team.id, other)[0].because == routing.NO_RULE
        event = db.session.scalars(select(OwnershipEvent).where(
            OwnershipEvent.customer_id == other.id,
            OwnershipEvent.kind == OwnershipChange.ROUTE)).one()
        with force_locale("en"):
            assert event.to_user_id is None and "No routing rule" in routing.explain(
                event.routing)


def test_a_lead_already_owned_is_not_routed(app, team, make_customer):
    with app.app_context():
        _rule(team.id)
        owned = db.session.get(Customer, make_customer(team.makers))
        assert _route(team.id, owned) == []


def test_dry_run_writes_nothing_and_matches_the_real_routing(app, team):
    with app.app_context():
        _rule(team.id)
        team_row = db.session.get(Team, team.id)
        preview = routing.dry_run(team_row, [{"industry": "零售"}] * 6)
        assert db.session.scalar(select(func.count()).select_from(OwnershipEvent).where(
            OwnershipEvent.kind == OwnershipChange.ROUTE)) == 0
        real = _route(team.id, *[_lead(n, industry="零售") for n in range(6)])
        assert [d.owner.id for d in preview] == [d.owner.id for d in real]


@pytest.mark.committed
def test_fifty_leads_routed_at_once_spread_evenly_within_limits(app, make_team, make_user):
    team_id = make_team("Rush")
    reps = [make_user(Role.REP, team_id, name=f"R{n}") for n in range(4)]
    with app.app_context():
        db.session.get(Team, team_id).holding_limit = 12  # 4 × 12 = 48 places for 50 leads
        _rule(team_id)
        db.session.commit()
    errors, barrier = [], threading.Barrier(10)

    def worker(start):
        try:
            barrier.wait(timeout=30)
            for n in range(start, start + 5):
                with app.app_context():
                    lead = _lead(f"并发{n}", phone=f"1390000{n:04d}")
                    _route(team_id, lead)
                    db.session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i * 5,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with app.app_context():
        held = dict(db.session.execute(
            select(Customer.owner_id, func.count()).where(Customer.name.like("线索并发%"))
            .group_by(Customer.owner_id)).all())
        assert {rep.id: held.get(rep.id) for rep in reps} == {rep.id: 12 for rep in reps}
        assert held.get(None) == 2  # nobody had room: the pool
        notes = db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.kind == NotificationKind.LEAD_UNROUTED))
        assert notes == 0  # the team has no manager to tell; nothing breaks


def test_a_batch_nobody_can_take_is_one_notification(app, team):
    with app.app_context():
        leads = [_lead(n) for n in range(5)]  # no rules at all
        assert all(d.owner is None for d in _route(team.id, *leads))
        note = db.session.scalars(select(Notification).where(
            Notification.kind == NotificationKind.LEAD_UNROUTED)).one()
        assert note.params["count"] == 5 and note.link == "/customers?tab=pool"
