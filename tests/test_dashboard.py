"""The dashboard: who sees whose numbers, the period switch, charts that pass the CSP with
their tables, funnel links, and statement counts that do not grow with the data."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import insert

from crm.clock import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpKind
from tests.conftest import count_queries

EN = {"Accept-Language": "en"}


def _visits(app, world, count, who="rep", customer="rep"):
    at = utcnow() - timedelta(minutes=1)
    with app.app_context():
        db.session.execute(insert(FollowUp), [
            {"customer_id": getattr(world.customers, customer),
             "author_id": getattr(world, who).id, "kind": FollowUpKind.VISIT,
             "occurred_at": at, "summary": "拜访", "created_at": at, "version": 1}
            for _ in range(count)])
        db.session.commit()


def _tile(html, metric):
    found = re.search(rf'data-metric="{metric}">\s*<span class="tile-label">[^<]*</span>\s*'
                      r'<strong class="tile-value">([^<]*)</strong>', html)
    return found.group(1) if found else None


def test_each_role_reads_its_own_numbers(app, world, login_as):
    _visits(app, world, 2)
    _visits(app, world, 3, who="rep3", customer="rep3")
    rep = login_as("rep").get("/dashboard").get_data(as_text=True)
    assert _tile(rep, "visits") == "3"  # their own two and the world's ride-along
    assert "Rep Three" not in rep and "Rep Two" not in rep
    manager = login_as("manager").get("/dashboard").get_data(as_text=True)
    assert _tile(manager, "visits") == "3" and "Rep Two" in manager
    assert "Rep Three" not in manager
    admin = login_as("admin").get("/dashboard").get_data(as_text=True)
    assert _tile(admin, "visits") == "6" and "Rep Three" in admin
    sz = login_as("admin").get(f"/dashboard?team={world.teams.sz}").get_data(as_text=True)
    assert _tile(sz, "visits") == "3"
    # A team outside the manager's tree is not confirmed to exist.
    assert login_as("manager").get(f"/dashboard?team={world.teams.sz}").status_code == 404
    # A rep cannot widen their view by asking for a team.
    asked = login_as("rep").get(f"/dashboard?team={world.teams.sh1}").get_data(as_text=True)
    assert "Rep Two" not in asked


@pytest.mark.parametrize("query", ["period=week", "period=quarter", "period=year",
                                   "period=custom&from=2026-01-01&to=2026-01-31",
                                   "period=custom&from=nonsense&to=2026-01-31",
                                   "period=custom&from=1900-01-01&to=3000-01-01",
                                   "period=%00", "team=99999999999999999", "team=-1"])
def test_no_query_makes_a_500(world, login_as, query):
    assert login_as("manager").get(f"/dashboard?{query}").status_code in (200, 404)


def test_charts_are_svg_with_tables_and_the_funnel_links_to_the_board(app, world, login_as):
    html = login_as("manager").get("/dashboard?period=week", headers=EN).get_data(as_text=True)
    assert html.count('<svg class="bar-chart"') == 2
    assert "style=" not in html.split("<main", 1)[-1]  # nothing the CSP would refuse
    assert "<script" not in html.split("<main", 1)[-1]
    assert html.count('<table class="list compact">') == 2
    assert f'href="/pipeline?stage=inquiry&amp;team={world.teams.sh1}"' in html
    assert "Review coverage" in html


def test_switching_the_period(app, world, login_as):
    manager = login_as("manager")
    week = manager.get("/dashboard?period=week").get_data(as_text=True)
    assert 'value="week" checked' in week
    custom = manager.get("/dashboard?period=custom&from=2026-11-01&to=2026-11-03")
    page = custom.get_data(as_text=True)
    assert 'value="custom" checked' in page and 'value="2026-11-03"' in page
    assert page.count('<rect class="bar"') == 6  # three days, two charts


@pytest.mark.parametrize("who", ["manager", "rep", "admin"])
def test_statements_do_not_grow_with_the_follow_ups(app, world, login_as, who):
    client = login_as(who)
    counts = []
    for total in (10, 1000):
        _visits(app, world, total - (counts and 10 or 0))
        client.get("/dashboard")
        with count_queries(app) as counted:
            assert client.get("/dashboard").status_code == 200
        counts.append(counted.count)
    assert counts[0] == counts[1] <= 8, counts


def test_the_review_sheet_counts_as_the_dashboard_does(app, world, login_as):
    from crm.accounts.models import Team
    from crm.metrics.periods import today_in
    from crm.metrics.summary import team_zone

    _visits(app, world, 4)
    with app.app_context():
        today = today_in(team_zone(db.session.get(Team, world.teams.sh1)))
    manager = login_as("manager")
    sheet = manager.get(f"/pipeline/sheet?rep={world.rep.id}", headers=EN).get_data(as_text=True)
    dashboard = login_as("rep").get(f"/dashboard?period=custom&from={today - timedelta(days=1)}"
                                    f"&to={today}").get_data(as_text=True)
    visits = _tile(dashboard, "visits")
    assert visits == "5"
    assert f"follow-ups ({visits} visits)" in sheet
