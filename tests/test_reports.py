"""Team reports: made by a real RQ worker, equal to the dashboard, failing visibly and
retried, replaced whole when made again, on the schedule in each team's zone, in constant
statements."""

import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from rq.registry import FailedJobRegistry
from sqlalchemy import func, insert, select, update

from crm.accounts.models import Team
from crm.clock import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpKind
from crm.metrics.periods import Period, today_in
from crm.notifications.models import Notification
from crm.queue import get_queue, make_worker
from crm.reports.jobs import generate_report
from crm.reports.models import ReportKind, ReportRun, RunStatus
from crm.reports.reports import due_runs, schedule_due
from tests.conftest import count_queries

EN = {"Accept-Language": "en"}


def _log_visits(app, world, count: int, at=None):
    at = at or utcnow() - timedelta(minutes=5)
    with app.app_context():
        db.session.execute(insert(FollowUp), [
            {"customer_id": world.customers.rep, "author_id": world.rep.id,
             "kind": FollowUpKind.VISIT if n % 3 else FollowUpKind.CALL, "occurred_at": at,
             "summary": "拜访", "created_at": at, "version": 1} for n in range(count)])
        db.session.commit()


def _ask(client, world, kind="weekly", day=None):
    with client.application.app_context():
        day = day or today_in(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    response = client.post_form("/reports", {"team_id": str(world.teams.sh1), "kind": kind,
                                             "day": day.isoformat()})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _run(app, run_id) -> ReportRun:
    with app.app_context():
        run = db.session.get(ReportRun, run_id)
        db.session.expunge(run)
        return run


def _tiles(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="(\w+)">\s*<span class="tile-label">[^<]*</span>\s*'
                           r'<strong class="tile-value">([^<]*)</strong>', html))


def test_a_weekly_report_through_the_worker_equals_the_dashboard(app, world, login_as):
    _log_visits(app, world, 7)
    manager = login_as("manager")
    run_id = _ask(manager, world)
    # Until the worker runs, the page polls its status fragment.
    waiting = manager.get(f"/reports/{run_id}").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in waiting
    fragment = manager.get(f"/reports/{run_id}/status", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    assert "every 2s" in fragment.get_data(as_text=True)

    assert make_worker(app, simple=True).work(burst=True)
    run = _run(app, run_id)
    assert run.status == RunStatus.DONE and run.progress == 100 and run.file_data
    done = manager.get(f"/reports/{run_id}/status", headers={"HX-Request": "true"})
    assert "every 2s" not in done.get_data(as_text=True)

    period = Period(kind="week", start=run.period_start, end=run.period_end)
    dashboard = manager.get(f"/dashboard?team={world.teams.sh1}&period=custom"
                            f"&from={period.start}&to={period.last}").get_data(as_text=True)
    tiles = _tiles(dashboard)
    assert tiles["visits"] == "5" and tiles["calls"] == "3"  # the world's visit and 7 more

    download = manager.get(f"/reports/{run_id}/xlsx")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(download.data))
    assert {"汇总", "漏斗", "每日", "每人", "录音覆盖"} <= set(book.sheetnames)
    summary = book["汇总"]
    assert summary.freeze_panes == "A2"
    by_key = {row[2].value: row[1].value for row in summary.iter_rows(min_row=2)
              if row[2].value}
    for metric, shown in tiles.items():
        value = by_key[metric]
        expected = Decimal(shown.replace("¥", "").replace(",", "")) if shown != "—" else None
        if expected is None:  # nothing to average (satisfaction with no survey): empty
            assert value in (None, ""), metric
            continue
        assert Decimal(str(value)) == expected, metric
    assert summary.cell(3, 2).number_format == "yyyy-mm-dd"
    people = book["每人"]
    rows = {row[0].value: row[1].value for row in people.iter_rows(min_row=2)}
    assert rows["Rep"] == 5

    csv = manager.get(f"/reports/{run_id}/csv")
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert "Rep,5,3" in csv.get_data(as_text=True)

    # Managers of the team (and above it) are told, once.
    with app.app_context():
        told = set(db.session.scalars(select(Notification.user_id).where(
            Notification.kind == "report_ready")))
    assert told == {world.manager.id, world.region_manager.id}
    inbox = manager.get("/notifications", headers=EN).get_data(as_text=True)
    assert "A team report is ready" in inbox
    with app.app_context():
        mine = db.session.scalar(select(Notification.id).where(
            Notification.kind == "report_ready", Notification.user_id == world.manager.id))
    opened = manager.post_form(f"/notifications/{mine}/open", {})
    assert opened.headers["Location"] == f"/reports/{run_id}"
    page = manager.get(f"/reports/{run_id}").get_data(as_text=True)
    assert "Rep" in page and "hx-trigger" not in page
    # Opening the report reads its notification.
    assert "A team report is ready" not in manager.get("/reviews", headers=EN).get_data(
        as_text=True)


def test_making_a_period_again_replaces_it_whole(app, world, login_as):
    manager = login_as("manager")
    run_id = _ask(manager, world)
    make_worker(app, simple=True).work(burst=True)
    _log_visits(app, world, 2)
    again = manager.post_form(f"/reports/{run_id}/regenerate")
    assert again.status_code == 303
    assert _run(app, run_id).status == RunStatus.QUEUED
    make_worker(app, simple=True).work(burst=True)
    run = _run(app, run_id)
    assert run.status == RunStatus.DONE and run.data["totals"]["visits"] == 2
    assert run.data["totals"]["calls"] == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReportRun)) == 1
    assert _ask(manager, world) == run_id  # the same period is the same row


def test_a_failing_report_says_why_and_can_be_retried(app, world, login_as):
    with app.app_context():
        db.session.execute(update(Team).where(Team.id == world.teams.sh1)
                           .values(timezone="Mars/Olympus_Mons"))
        db.session.commit()
    manager = login_as("manager")
    run_id = _ask(manager, world, kind="daily", day=date(2026, 11, 10))
    make_worker(app, simple=True).work(burst=True)
    run = _run(app, run_id)
    assert run.status == RunStatus.FAILED and "Mars/Olympus_Mons" in run.error
    with app.app_context():
        assert FailedJobRegistry(queue=get_queue("reports")).count == 1
    page = manager.get(f"/reports/{run_id}", headers=EN).get_data(as_text=True)
    assert "Failed" in page and "Mars/Olympus_Mons" in page and "Retry" in page
    assert "Failed" in manager.get("/reports", headers=EN).get_data(as_text=True)

    with app.app_context():
        db.session.execute(update(Team).where(Team.id == world.teams.sh1)
                           .values(timezone="Asia/Shanghai"))
        db.session.commit()
    assert manager.post_form(f"/reports/{run_id}/regenerate").status_code == 303
    make_worker(app, simple=True).work(burst=True)
    assert _run(app, run_id).status == RunStatus.DONE


def test_not_ready_reports_have_no_download(app, world, login_as):
    manager = login_as("manager")
    run_id = _ask(manager, world)
    assert manager.get(f"/reports/{run_id}/xlsx").status_code == 404
    assert manager.get(f"/reports/{run_id}/csv").status_code == 404


def test_bad_requests_re_render_with_422(app, world, login_as):
    manager = login_as("manager")
    response = manager.post_form("/reports", {"team_id": "x", "kind": "weekly", "day": ""})
    assert response.status_code == 422
    other = manager.post_form("/reports", {"team_id": str(world.teams.sz), "kind": "weekly",
                                           "day": "2026-11-10"})
    assert other.status_code == 404
    assert manager.get("/reports?team=abc").status_code == 200


@pytest.mark.parametrize("count", [10, 1000])
def test_the_report_job_sends_constant_statements(app, world, login_as, count):
    _log_visits(app, world, count)
    manager = login_as("manager")
    run_id = _ask(manager, world)
    with count_queries(app) as counted, app.app_context():
        generate_report(run_id)
    assert _run(app, run_id).data["totals"]["follow_ups"] == count + 1  # and the world's
    assert counted.count == REPORT_JOB_STATEMENTS, counted.statements


REPORT_JOB_STATEMENTS = 8


def test_the_schedule_asks_for_due_reports_in_each_teams_zone(app, world):
    # 12:30 UTC on Monday 9 Nov 2026 is 20:30 in Shanghai: today's daily report is due,
    # and last week's (Monday 08:00 passed) and October's.
    now = datetime(2026, 11, 9, 12, 30, tzinfo=UTC)
    with app.app_context():
        due = {(team_id, kind): period for team_id, kind, period in due_runs(now)}
        assert due[(world.teams.sh1, ReportKind.DAILY)].start == date(2026, 11, 9)
        assert due[(world.teams.sh1, ReportKind.WEEKLY)].start == date(2026, 11, 2)
        assert due[(world.teams.sh1, ReportKind.MONTHLY)].start == date(2026, 10, 1)
        db.session.execute(update(Team).where(Team.id == world.teams.sz)
                           .values(timezone="America/New_York"))
        # 07:30 in New York: yesterday's daily report, the week before last (08:00 not yet).
        due = {(team_id, kind): period for team_id, kind, period in due_runs(now)}
        assert due[(world.teams.sz, ReportKind.DAILY)].start == date(2026, 11, 8)
        assert due[(world.teams.sz, ReportKind.WEEKLY)].start == date(2026, 10, 26)
        first = schedule_due(now)
        db.session.commit()
        assert first and schedule_due(now) == []  # safe to run twice
        db.session.commit()
        assert len(get_queue("reports").job_ids) == len(first)


def test_an_admin_sets_a_teams_zone_schedule_and_leaderboard(app, world, login_as):
    admin = login_as("admin")
    form = {"name": "Shenzhen", "parent_id": str(world.teams.south), "protection_days": "30",
            "holding_limit": "200", "expiry_warning_days": "3", "timezone": "America/New_York",
            "leaderboard_hides_amounts": "y", "report_daily_hour": "18",
            "report_weekly_day": "4", "report_weekly_hour": "17", "report_monthly_hour": "9"}
    assert admin.post_form(f"/admin/teams/{world.teams.sz}", form).status_code == 303
    with app.app_context():
        team = db.session.get(Team, world.teams.sz)
        assert (team.timezone, team.leaderboard_hides_amounts, team.report_daily_hour,
                team.report_weekly_day, team.report_weekly_hour, team.report_monthly_hour) == (
            "America/New_York", True, 18, 4, 17, 9)
    bad = admin.post_form(f"/admin/teams/{world.teams.sz}", {**form, "timezone": "Mars/X",
                                                             "report_daily_hour": "25"})
    assert bad.status_code == 422


def test_a_run_whose_worker_was_lost_can_be_asked_for_again(app, world, login_as):
    manager = login_as("manager")
    run_id = _ask(manager, world)
    with app.app_context():
        db.session.execute(update(ReportRun).where(ReportRun.id == run_id).values(
            status=RunStatus.RUNNING, started_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    page = manager.get(f"/reports/{run_id}", headers=EN).get_data(as_text=True)
    assert "every 2s" not in page and "Make it again" in page
    assert manager.post_form(f"/reports/{run_id}/regenerate").status_code == 303
    assert _run(app, run_id).status == RunStatus.QUEUED
    make_worker(app, simple=True).work(burst=True)
    assert _run(app, run_id).status == RunStatus.DONE
