"""Today: the landing page, with an honest empty state until other areas fill it."""

from crm.accounts.models import Role
from tests.conftest import count_queries


def test_today_greets_and_says_nothing_is_due(login_as):
    html = login_as("rep").get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Hello, Rep" in html
    assert "Nothing is due today." in html


def test_today_navigation_per_role(login_as):
    rep = login_as("rep").get("/").get_data(as_text=True)
    admin = login_as("admin").get("/").get_data(as_text=True)
    assert 'href="/admin/users"' not in rep and 'href="/system"' not in rep
    assert 'href="/admin/users"' in admin and 'href="/system"' in admin


def test_today_and_more_query_counts_stay_flat(app, world, make_user, login_as):
    rep = login_as("rep")
    counts = {}
    for label in ("few", "many"):
        if label == "many":
            for _ in range(50):
                make_user(Role.REP, world.teams.sh1)
        for url in ("/", "/more"):
            rep.get(url)
            with count_queries(app) as counted:
                assert rep.get(url).status_code == 200
            counts[(label, url)] = counted.count
    # The pipeline card adds one grouped query (open deals by grade); the rep's goals two
    # (their goals, and one metrics statement for all of them); reminders one each for
    # revisits, tasks and birthdays due.
    assert counts[("few", "/")] == counts[("many", "/")] <= 10
    assert counts[("few", "/more")] == counts[("many", "/more")] <= 3


def test_today_warns_about_protection_ending(app, world, login_as):
    from datetime import timedelta

    from sqlalchemy import update

    from crm.clock import utcnow
    from crm.customers.models import Customer
    from crm.extensions import db

    with app.app_context():
        db.session.execute(update(Customer).where(Customer.id == world.customers.rep)
                           .values(protected_until=utcnow() + timedelta(days=2, hours=1)))
        db.session.commit()
    html = login_as("rep").get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    expiring = html.split('id="expiring"')[1]
    assert "张三" in expiring and "3 days left" in expiring
    other = login_as("rep2").get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'id="expiring"' not in other and "Nothing is due today." in other


def test_more_lists_work_pages_apart_from_administration(login_as):
    rep = login_as("rep").get("/more", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'href="/follow-ups"' in rep and "Administration" not in rep
    admin = login_as("admin").get("/more", headers={"Accept-Language": "en"}) \
        .get_data(as_text=True)
    assert "Administration" in admin and 'href="/admin/users"' in admin
    assert 'href="/follow-ups"' not in admin
