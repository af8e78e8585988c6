"""Routing through the pages: a manager's rules, dry run, rebalance and people; office
registration and import routed; the card's fit, reason and look-alikes; the public lead
form's honeypot, rate limit and dedupe."""

import csv
import io
import re

from sqlalchemy import func, select

from crm.accounts.models import Role, Team
from crm.customers.models import Customer, OwnershipChange, OwnershipEvent
from crm.extensions import db
from crm.routing import fit, setup
from crm.routing.models import RoutingRule, TeamRouting

EN = {"Accept-Language": "en"}


def _routing_team(app, make_team, make_user, reps=3):
    team_id = make_team("Leads")
    manager = make_user(Role.MANAGER, team_id, name="Lead Boss", email="leadboss@example.test")
    people = [make_user(Role.REP, team_id, name=f"Seller {n}") for n in range(reps)]
    return team_id, manager, people


def _login(app, who):
    client = app.test_client()
    assert client.login(who.email).status_code == 303
    return client


def test_manager_adds_a_rule_previews_and_sees_loads(app, make_team, make_user, make_customer):
    team_id, manager, people = _routing_team(app, make_team, make_user)
    for _n in range(4):
        make_customer(people[0])
    client = _login(app, manager)
    assert client.get("/routing").headers["Location"].endswith(f"/routing/teams/{team_id}")
    response = client.post_form(f"/routing/teams/{team_id}/rules",
                                {"new-name": "制造业", "new-industries": "制造业，化工",
                                 "new-size_bands": "huge"}, headers=EN)
    assert response.status_code == 422  # an unknown size, the input kept
    assert 'value="制造业，化工"' in response.get_data(as_text=True)
    response = client.post_form(f"/routing/teams/{team_id}/rules",
                                {"new-name": "制造业", "new-industries": "制造业，化工"})
    assert response.status_code == 303
    with app.app_context():
        rule = db.session.scalars(select(RoutingRule)).one()
        assert rule.industries == "制造业, 化工" and rule.position == 0
    html = client.get(f"/routing/teams/{team_id}/preview?industry=制造业&count=4",
                      headers=EN).get_data(as_text=True)
    chosen = re.findall(r"<li><strong>([^<]+)</strong>", html)
    # Seller 0 holds 4: the other two take turns.
    assert chosen == ["Seller 1", "Seller 2", "Seller 1", "Seller 2"]
    assert "Public pool" in client.get(f"/routing/teams/{team_id}/preview?industry=零售",
                                       headers=EN).get_data(as_text=True)
    # Nothing was written by the dry run.
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OwnershipEvent).where(
            OwnershipEvent.kind == OwnershipChange.ROUTE)) == 0
    page = client.get(f"/routing/teams/{team_id}", headers=EN).get_data(as_text=True)
    assert "Median: 0" in page and "+4" in page
    assert "Move 4 from Seller 0 to" not in page  # the median is 0: nobody is under it
    # A query string that makes no sense is a 422, not a 500.
    assert client.get(f"/routing/teams/{team_id}/preview?count=abc").status_code == 422


def test_rebalance_suggestion_confirmed_as_a_transfer(app, make_team, make_user,
                                                      make_customer):
    team_id, manager, people = _routing_team(app, make_team, make_user)
    for _n in range(8):
        make_customer(people[0])
    make_customer(people[1])
    make_customer(people[1])
    client = _login(app, manager)
    page = client.get(f"/routing/teams/{team_id}", headers=EN).get_data(as_text=True)
    # Loads 8, 2, 0; median 2: move 2 to Seller 2 (Seller 1 sits on the median).
    assert "Move 2 from Seller 0 to Seller 2" in page
    response = client.post_form(f"/routing/teams/{team_id}/rebalance",
                                {"from_user_id": people[0].id, "to_user_id": people[2].id,
                                 "count": 2})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer).where(
            Customer.owner_id == people[2].id)) == 2
        assert db.session.scalar(select(func.count()).select_from(OwnershipEvent).where(
            OwnershipEvent.kind == OwnershipChange.TRANSFER,
            OwnershipEvent.to_user_id == people[2].id)) == 2


def test_another_teams_manager_cannot_touch_the_rules(app, world, make_team, make_user):
    team_id, manager, people = _routing_team(app, make_team, make_user)
    with app.app_context():
        rule = RoutingRule(team_id=team_id, name="x", position=0)
        db.session.add(rule)
        db.session.commit()
        rule_id = rule.id
    other = _login(app, world.manager)
    assert other.get(f"/routing/teams/{team_id}").status_code == 404
    assert other.post_form(f"/routing/rules/{rule_id}/delete").status_code == 404
    assert other.post_form(f"/routing/teams/{team_id}/people/{people[0].id}",
                           {}).status_code == 404
    # Nor may a manager set a person of another team through their own team's page.
    assert other.post_form(f"/routing/teams/{world.teams.sh1}/people/{people[0].id}",
                           {}).status_code == 404
    mine = _login(app, manager)
    assert mine.post_form(f"/routing/rules/{rule_id}/delete").status_code == 303


def test_specialties_and_away_are_saved(app, make_team, make_user):
    team_id, manager, people = _routing_team(app, make_team, make_user, reps=1)
    client = _login(app, manager)
    prefix = f"p{people[0].id}-"
    response = client.post_form(f"/routing/teams/{team_id}/people/{people[0].id}", {
        prefix + "specialty_industries": "医疗, 教育", prefix + "specialty_size_band": "large",
        prefix + "specialty_regions": "上海", prefix + "away_until": "2030-01-02"})
    assert response.status_code == 303
    with app.app_context():
        from crm.accounts.models import User

        user = db.session.get(User, people[0].id)
        assert (user.specialty_industries, user.specialty_size_band, user.specialty_regions,
                str(user.away_until)) == ("医疗, 教育", "large", "上海", "2030-01-02")
    bad = client.post_form(f"/routing/teams/{team_id}/people/{people[0].id}",
                           {prefix + "away_until": "not a date"})
    assert bad.status_code == 422


def test_office_registration_is_routed_and_the_card_says_why(app, world, login_as):
    with app.app_context():
        setup.save_rule(db.session.get(Team, world.teams.sh1), {"name": "全部"})
        db.session.commit()
    office = login_as("office")
    response = office.post_form("/customers", {"kind": "person", "name": "路由客户",
                                               "tier": "general", "route_team_id":
                                               world.teams.sh1})
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.name == "路由客户")).one()
        # rep holds 1 (张三), rep2 holds 1 (李四): a tie, the lower id first.
        assert customer.owner_id in (world.rep.id, world.rep2.id)
        owner_id = customer.owner_id
    card = office.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert 'id="routing-why"' in card and "Rule “全部”" in card
    assert "Assigned by routing" in card
    with app.app_context():
        event = db.session.scalars(select(OwnershipEvent).where(
            OwnershipEvent.customer_id == customer.id,
            OwnershipEvent.kind == OwnershipChange.ROUTE)).one()
        assert event.to_user_id == owner_id and event.by_user_id == world.office.id


def _csv(rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def test_an_import_to_the_pool_is_routed_when_chosen(app, world, login_as, make_team,
                                                     make_user):
    team_id, _manager, people = _routing_team(app, make_team, make_user)
    with app.app_context():
        db.session.add(RoutingRule(team_id=team_id, name="全部", position=0))
        db.session.commit()
    office = login_as("office")
    response = office.post_form(
        "/customers/import",
        {"file": (io.BytesIO(_csv([["姓名", "电话"]] + [[f"导入{n}", f"1361111{n:04d}"]
                                                         for n in range(30)])),
                  "leads.csv"), "owner_id": ""},
        content_type="multipart/form-data", headers=EN)
    preview = response.headers["Location"]
    page = office.get(preview, headers=EN).get_data(as_text=True)
    assert 'name="route_team_id"' in page
    response = office.post_form(preview, {"route_team_id": team_id}, headers=EN)
    assert response.status_code == 303
    with app.app_context():
        held = dict(db.session.execute(select(Customer.owner_id, func.count()).where(
            Customer.name.like("导入%")).group_by(Customer.owner_id)).all())
    assert held == {person.id: 10 for person in people}


def test_fit_on_the_list_filter_sort_and_card(app, world, login_as, make_customer):
    best = make_customer(None, name="最合适", industry="制造业", size_band="large")
    half = make_customer(None, name="一半", industry="制造业")
    with app.app_context():
        fit.set_profile(world.teams.sh1, [("industry", "制造业", 2), ("size_band", "large", 2)])
        db.session.commit()
    rep = login_as("rep")
    html = rep.get("/customers?tab=pool&sort=fit", headers=EN).get_data(as_text=True)
    assert html.index("最合适") < html.index("一半") < html.index("孙七")
    assert "Fit 100" in html and "Fit 50" in html and "Fit 0" in html
    filtered = rep.get("/customers?tab=pool&fit_min=70", headers=EN).get_data(as_text=True)
    assert "最合适" in filtered and "一半" not in filtered
    assert rep.get("/customers?tab=pool&fit_min=abc&sort=zzz").status_code == 200
    card = rep.get(f"/customers/{half}", headers=EN).get_data(as_text=True)
    assert 'id="fit">Fit 50<' in card
    # Keyset pages by fit do not repeat or skip anyone.
    seen, url = [], "/customers?tab=pool&sort=fit"
    for n in range(40):
        make_customer(None, name=f"填充{n:02d}", industry="制造业" if n % 2 else None)
    while url:
        page = rep.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
        seen += re.findall(r'href="/customers/(\d+)"', page)
        more = re.search(r'<li class="load-more"><a class="button" href="([^"]+)"', page)
        url = more.group(1).replace("&amp;", "&") if more else None
    assert len(seen) == len(set(seen)) == 43
    assert seen[0] == str(best)


def test_lookalikes_on_a_key_customers_card_and_one_tap_claim(app, world, login_as,
                                                              make_customer):
    key = make_customer(world.rep, name="大客户", industry="制造业", size_band="large",
                        tier="key")
    alike = make_customer(None, name="同行", industry="制造业", size_band="large")
    make_customer(None, name="小同行", industry="制造业", size_band="small")
    plain = make_customer(world.rep, name="普通", industry="制造业", size_band="large")
    rep = login_as("rep")
    card = rep.get(f"/customers/{key}", headers=EN).get_data(as_text=True)
    assert "Look-alikes in the pool" in card and "同行" in card and "小同行" not in card
    assert "Look-alikes" not in rep.get(f"/customers/{plain}").get_data(as_text=True)
    response = rep.post_form(f"/customers/{alike}/claim")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Customer, alike).owner_id == world.rep.id


# The public lead form ----------------------------------------------------------------------

def _lead_form(app, world) -> str:
    with app.app_context():
        team = db.session.get(Team, world.teams.sh1)
        setup.save_rule(team, {"name": "全部"})
        token = setup.renew_lead_form(team)
        db.session.commit()
    return f"/leads/{token}"


def _lead_count(app, name):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Customer).where(
            Customer.name == name))


def test_the_lead_form_creates_and_routes_a_customer(app, world):
    url = _lead_form(app, world)
    visitor = app.test_client()
    page = visitor.get(url, headers=EN)
    assert page.status_code == 200 and "Your name" in page.get_data(as_text=True)
    response = visitor.post_form(url, {"name": "网上客户", "phone": "13512349876",
                                       "organisation": "某公司", "needs": "要报价"},
                                 headers=EN)
    assert response.status_code == 303 and response.headers["Location"] == url + "?sent=1"
    assert "Thank you" in visitor.get(url + "?sent=1", headers=EN).get_data(as_text=True)
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.name == "网上客户")).one()
        assert customer.owner_id in (world.rep.id, world.rep2.id)
        assert customer.source_channel == "线索表单" and customer.needs == "要报价"
    # Missing fields: the form again, with what was typed.
    response = visitor.post_form(url, {"name": "", "phone": "13500001111"}, headers=EN)
    assert response.status_code == 422 and 'value="13500001111"' in response.get_data(
        as_text=True)
    # A closed form is gone.
    with app.app_context():
        db.session.get(TeamRouting, world.teams.sh1).lead_form_token = None
        db.session.commit()
    assert visitor.get(url).status_code == 404


def test_the_honeypot_keeps_nothing(app, world):
    url = _lead_form(app, world)
    bot = app.test_client()
    response = bot.post_form(url, {"name": "机器人", "phone": "13512340001",
                                   "website": "http://spam.example"}, headers=EN)
    assert response.status_code == 303 and response.headers["Location"] == url + "?sent=1"
    assert _lead_count(app, "机器人") == 0


def test_the_lead_form_limits_submissions_per_address(app, world):
    url = _lead_form(app, world)
    app.config["LEAD_FORM_PER_ADDRESS"] = (2, 600)
    visitor = app.test_client()
    for n in range(2):
        assert visitor.post_form(url, {"name": f"限流{n}", "phone": f"1351234100{n}"}
                                 ).status_code == 303
    response = visitor.post_form(url, {"name": "限流9", "phone": "13512341009"}, headers=EN)
    assert response.status_code == 429 and "Too many" in response.get_data(as_text=True)
    assert _lead_count(app, "限流9") == 0


def test_a_known_customer_through_the_lead_form_creates_nothing_and_reveals_nothing(
        app, world):
    url = _lead_form(app, world)
    visitor = app.test_client()
    # 张三's phone: the same customer.
    response = visitor.post_form(url, {"name": "张三的同事", "phone": "138 0013 8000"},
                                 headers=EN)
    assert response.status_code == 303 and response.headers["Location"] == url + "?sent=1"
    assert _lead_count(app, "张三的同事") == 0


def test_a_saved_profile_is_scored_by_the_worker(app, world, login_as, make_customer):
    from crm.queue import make_worker
    from crm.routing.models import CustomerFit

    customer = make_customer(None, name="画像客户", industry="制造业", size_band="large")
    manager = login_as("manager")
    response = manager.post_form(f"/routing/teams/{world.teams.sh1}/profile",
                                 {"profile-industry": "制造业:3, 医疗:2",
                                  "profile-size_band": "large:1", "profile-tier": "key:1"})
    assert response.status_code == 303
    page = manager.get(f"/routing/teams/{world.teams.sh1}", headers=EN).get_data(as_text=True)
    assert "制造业:3, 医疗:2" in page and "large:1" in page
    make_worker(app, simple=True).work(burst=True)
    with app.app_context():
        assert db.session.scalar(select(CustomerFit.score).where(
            CustomerFit.team_id == world.teams.sh1, CustomerFit.customer_id == customer)) == 80
    bad = manager.post_form(f"/routing/teams/{world.teams.sh1}/profile",
                            {"profile-industry": "制造业", "profile-tier": "vip:1"}, headers=EN)
    assert bad.status_code == 422 and "value:weight" in bad.get_data(as_text=True)


def test_the_routing_page_and_the_lead_form_take_constant_queries(app, world, login_as,
                                                                  make_user, make_customer):
    from tests.conftest import count_queries

    url = _lead_form(app, world)
    manager = login_as("manager")
    page = f"/routing/teams/{world.teams.sh1}"
    visitor = app.test_client()

    def measure():
        counts = []
        for client, target in ((manager, page), (visitor, url)):
            client.get(target)
            with count_queries(app) as counted:
                assert client.get(target).status_code == 200
            counts.append(counted.count)
        return counts

    few = measure()
    for n in range(5):
        rep = make_user(Role.REP, world.teams.sh1, name=f"加人{n}",
                        specialty_industries="制造业")
        for _m in range(4):
            make_customer(rep)
    with app.app_context():
        team = db.session.get(Team, world.teams.sh1)
        for n in range(4):
            setup.save_rule(team, {"name": f"规则{n}", "industries": "制造业"})
        db.session.commit()
    assert measure() == few
