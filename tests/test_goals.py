"""Goals: set, split among members equally or by weights, a quarter into months (the parts
add up, and the page says when they do not), locked, every change kept; progress computed
with pace words; a rep's goals on Today; the leaderboard hides amounts when told."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert, select, update

from crm.accounts.models import Team
from crm.clock import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpKind
from crm.goals.models import Goal, GoalChange
from crm.metrics.periods import Period

EN = {"Accept-Language": "en"}


def _goals(app, **where):
    with app.app_context():
        query = select(Goal)
        for name, value in where.items():
            query = query.where(getattr(Goal, name) == value)
        return [(g.user_id, g.metric, g.period.value, g.period_start, g.target, g.locked)
                for g in db.session.scalars(query.order_by(Goal.user_id, Goal.period_start))]


def _set(client, world, **data):
    form = {"team_id": str(world.teams.sh1), "metric": "won_amount", "user_id": "",
            "period": "quarter", "start": "2026-11-10", "target": "90000", **data}
    return client.post_form("/goals", form)


def _id(app, **where) -> int:
    with app.app_context():
        query = select(Goal.id)
        for name, value in where.items():
            query = query.where(getattr(Goal, name) == value)
        return db.session.scalar(query)


def test_a_manager_sets_splits_by_weights_and_into_months(app, world, login_as):
    manager = login_as("manager")
    assert _set(manager, world).status_code == 303
    goal = _id(app, metric="won_amount", period="quarter", user_id=None)
    split = manager.post_form(f"/goals/{goal}/split", {
        "mode": "weights", f"weight-{world.rep.id}": "2", f"weight-{world.rep2.id}": "1",
        f"weight-{world.manager.id}": "0"})
    assert split.status_code == 303
    shares = {row[0]: row[4] for row in _goals(app, metric="won_amount", period="quarter")
              if row[0]}
    assert shares == {world.rep.id: Decimal("60000.00"), world.rep2.id: Decimal("30000.00"),
                      world.manager.id: Decimal("0.00")}
    assert manager.post_form(f"/goals/{goal}/months").status_code == 303
    months = _goals(app, metric="won_amount", period="month", user_id=None)
    assert [m[3] for m in months] == [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
    assert sum(m[4] for m in months) == Decimal("90000")
    page = manager.get(f"/goals?team={world.teams.sh1}&period=quarter&start=2026-11-10",
                       headers=EN).get_data(as_text=True)
    assert "Members' shares add up to ¥90,000." in page
    assert "Months add up to ¥90,000." in page


def test_equal_split_of_a_count_adds_up_in_whole_units(app, world, login_as):
    manager = login_as("manager")
    assert _set(manager, world, metric="visits", period="month", target="10").status_code == 303
    goal = _id(app, metric="visits", period="month", user_id=None, period_start=date(2026, 11, 1))
    assert manager.post_form(f"/goals/{goal}/split", {"mode": "equal"}).status_code == 303
    parts = [row[4] for row in _goals(app, metric="visits", period_start=date(2026, 11, 1))
             if row[0]]
    assert sorted(parts) == [Decimal(3), Decimal(3), Decimal(4)] and sum(parts) == 10


def test_the_page_says_when_the_parts_do_not_add_up(app, world, login_as):
    manager = login_as("manager")
    _set(manager, world, metric="calls", period="month", target="20")
    _set(manager, world, metric="calls", period="month", target="5",
         user_id=str(world.rep.id))
    page = manager.get(f"/goals?team={world.teams.sh1}&period=month&start=2026-11-10",
                       headers=EN).get_data(as_text=True)
    assert "Members' shares add up to 5, not 20." in page


def test_bad_targets_re_render_with_the_input_kept(app, world, login_as):
    manager = login_as("manager")
    response = _set(manager, world, metric="visits", target="2.5")
    assert response.status_code == 422
    page = _set(manager, world, metric="visits", target="-3")
    assert page.status_code == 422 and 'value="-3"' in page.get_data(as_text=True)
    assert _set(manager, world, metric="nonsense").status_code == 422


def test_locked_goals_keep_reps_out_and_changes_are_kept(app, world, login_as):
    manager, rep = login_as("manager"), login_as("rep")
    share = world.goal_share
    assert rep.post_form(f"/goals/{share}", {"target": "7", "version": "1"}).status_code == 303
    today = utcnow().date()
    lock = manager.post_form("/goals/lock", {"team_id": str(world.teams.sh1),
                                             "period": "month", "start": today.isoformat(),
                                             "locked": "1"})
    assert lock.status_code == 303
    refused = rep.post_form(f"/goals/{share}", {"target": "1", "version": "2"})
    assert refused.status_code == 403
    assert manager.post_form(f"/goals/{share}", {"target": "8", "version": "3"}).status_code == 303
    with app.app_context():
        changes = [(c.field, c.from_value, c.to_value, c.by_user_id) for c in db.session.scalars(
            select(GoalChange).where(GoalChange.goal_id == share).order_by(GoalChange.id))]
    assert changes == [("created", None, "5.00", world.manager.id),
                       ("target", "5.00", "7.00", world.rep.id),
                       ("locked", "False", "True", world.manager.id),
                       ("target", "7.00", "8.00", world.manager.id)]
    page = rep.get("/goals", headers=EN).get_data(as_text=True)
    assert "Locked" in page and "Changes" in page


def test_progress_pace_on_today_and_the_leaderboard(app, world, login_as):
    """The rep's share is 5 visits this month; the world's visit and 4 more reach it."""
    at = utcnow() - timedelta(minutes=1)
    with app.app_context():
        db.session.execute(insert(FollowUp), [
            {"customer_id": world.customers.rep, "author_id": world.rep.id,
             "kind": FollowUpKind.VISIT, "occurred_at": at, "summary": "拜访",
             "created_at": at, "version": 1} for _ in range(4)])
        db.session.commit()
    today = login_as("rep").get("/", headers=EN).get_data(as_text=True)
    assert 'id="my-goals"' in today and "5 / 5 · 100%" in today and "Reached" in today
    board = login_as("manager").get("/goals", headers=EN).get_data(as_text=True)
    assert "Leaderboard" in board
    assert board.index("Rep</span>") < board.index("Rep Two</span>")
    assert "5 / 10 · 50%" in board  # the team's goal


def test_pace_words(app):
    from crm.goals.progress import Progress

    goal = Goal(target=Decimal(100))
    assert Progress(goal, Decimal(50), 0.5).pace == "on_track"
    assert Progress(goal, Decimal(45), 0.5).pace == "behind"
    assert Progress(goal, Decimal(10), 0.5).pace == "at_risk"
    assert Progress(goal, Decimal(100), 0.2).pace == "done"
    period = Period.containing("month", date(2026, 11, 15))
    assert period.elapsed(date(2026, 11, 15)) == 0.5
    assert period.elapsed(date(2026, 12, 5)) == 1.0 and period.elapsed(date(2026, 10, 1)) == 0


def test_a_team_setting_hides_amounts_on_the_leaderboard(app, world, login_as):
    manager = login_as("manager")
    _set(manager, world, metric="won_amount", period="month", start=utcnow().date().isoformat(),
         target="1000")
    _set(manager, world, metric="won_amount", period="month", start=utcnow().date().isoformat(),
         target="400", user_id=str(world.rep.id))
    shown = manager.get("/goals", headers=EN).get_data(as_text=True)
    assert '<span class="figure">¥0 · 0%</span>' in shown.split("Leaderboard", 1)[1]
    with app.app_context():
        db.session.execute(update(Team).where(Team.id == world.teams.sh1)
                           .values(leaderboard_hides_amounts=True))
        db.session.commit()
    hidden = manager.get("/goals", headers=EN).get_data(as_text=True).split("Leaderboard", 1)[1]
    board = hidden.split("</section>", 1)[0]
    figures = re.findall(r'<span class="figure">(.*?)</span>', board)
    assert figures and all("¥" not in f for f in figures) and "0%" in figures


def test_goal_statements_stay_flat(app, world, login_as):
    from tests.conftest import count_queries

    manager = login_as("manager")
    counts = []
    for n in range(2):
        manager.get("/goals")
        with count_queries(app) as counted:
            assert manager.get("/goals").status_code == 200
        counts.append(counted.count)
        for metric in ("calls", "new_customers", "won_amount"):
            _set(manager, world, metric=metric, period="month",
                 start=utcnow().date().isoformat(), target=str(10 + n))
    assert counts[0] + 0 <= counts[1] <= counts[0] + 1  # the leaderboard's one statement


def test_reps_see_their_colleagues_on_the_leaderboard_without_amounts(app, world, login_as):
    manager = login_as("manager")
    today = utcnow().date().isoformat()
    _set(manager, world, metric="won_amount", period="month", start=today, target="1000")
    with app.app_context():
        db.session.execute(update(Team).where(Team.id == world.teams.sh1)
                           .values(leaderboard_hides_amounts=True))
        db.session.commit()
    page = login_as("rep").get("/goals", headers=EN).get_data(as_text=True)
    board = page.split("Leaderboard", 1)[1].split("</section>", 1)[0]
    assert "Rep Two" in board and "Rep Three" not in board
    figures = re.findall(r'<span class="figure">(.*?)</span>', board.split("Won amount", 1)[1])
    assert figures and all("¥" not in f for f in figures)
    assert "Set a goal" not in page  # reps read the team's goals, they do not set them


def test_an_empty_team_with_goals_and_reports_can_still_be_deleted(app, world, login_as):
    from crm.reports.models import ReportRun

    admin = login_as("admin")
    empty = world.teams.empty
    _set(admin, world, team_id=str(empty), metric="visits", period="month", target="3")
    admin.post_form("/reports", {"team_id": str(empty), "kind": "daily", "day": "2026-11-10"})
    assert admin.post_form(f"/admin/teams/{empty}/delete").status_code == 303
    with app.app_context():
        assert db.session.get(Team, empty) is None
        assert not db.session.scalars(select(ReportRun).where(ReportRun.team_id == empty)).all()


@pytest.mark.parametrize("query", ["team=abc", "team=99999999999999", "period=decade",
                                   "start=0001-01-01", "start=2100-12-31&period=quarter",
                                   "start=%00&period=year"])
def test_no_query_makes_a_500(world, login_as, query):
    for who in ("rep", "manager", "office"):
        assert login_as(who).get(f"/goals?{query}").status_code in (200, 404)
    assert login_as("manager").get(f"/reports?{query}").status_code in (200, 404)


def test_odd_weights_are_refused_with_a_message(app, world, login_as):
    manager = login_as("manager")
    for weight in ("abc", "nan", "1e999", "-1"):
        response = manager.post_form(f"/goals/{world.goal}/split",
                                     {"mode": "weights", f"weight-{world.rep.id}": weight},
                                     headers=EN)
        assert response.status_code == 303
        page = manager.get(response.headers["Location"], headers=EN).get_data(as_text=True)
        assert "Weights are numbers of 0 or more." in page
    zero = manager.post_form(f"/goals/{world.goal}/split", {"mode": "weights"}, headers=EN)
    assert "above 0" in manager.get(zero.headers["Location"], headers=EN).get_data(as_text=True)
