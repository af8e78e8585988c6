"""Team reports: which period a report covers, asking for one (or again), making it from the
metrics, and the schedule that asks for them in each team's time zone."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, cast, literal, select, update

from crm import access
from crm.accounts.models import Team, User
from crm.clock import utcnow
from crm.extensions import db
from crm.metrics.periods import Period
from crm.metrics.summary import summarise, team_zone
from crm.notifications.inbox import notify_from
from crm.notifications.models import Notification, NotificationKind
from crm.queue import enqueue_after_commit
from crm.reports.models import ReportKind, ReportRun, RunStatus
from crm.sql import insert_or_ignore

PERIOD_OF = {ReportKind.DAILY: "day", ReportKind.WEEKLY: "week", ReportKind.MONTHLY: "month"}
JOB = "crm.reports.jobs.generate_report"


def set_report_settings(team: Team, *, timezone: str | None, hides_amounts: bool,
                        daily_hour: int | None, weekly_day: int | None,
                        weekly_hour: int | None, monthly_hour: int | None) -> None:
    """A team's zone, leaderboard and report schedule; an empty value keeps what it has."""
    if timezone:
        team.timezone = timezone
    team.leaderboard_hides_amounts = bool(hides_amounts)
    for name, value in (("report_daily_hour", daily_hour), ("report_weekly_day", weekly_day),
                        ("report_weekly_hour", weekly_hour),
                        ("report_monthly_hour", monthly_hour)):
        if value is not None:
            setattr(team, name, value)


def period_for(kind: ReportKind, day) -> Period:
    return Period.containing(PERIOD_OF[ReportKind(kind)], day)


def request_report(team: Team, kind: ReportKind, day, by: User | None) -> ReportRun:
    """Ask for the team's report of the period containing `day`. Asking again for a period
    already made replaces it whole; a run still under way is left to finish."""
    period = period_for(kind, day)
    run = db.session.scalars(select(ReportRun).where(
        ReportRun.team_id == team.id, ReportRun.kind == kind,
        ReportRun.period_start == period.start)).first()
    if run is None:
        run = ReportRun(team_id=team.id, kind=kind, period_start=period.start,
                        period_end=period.end)
        db.session.add(run)
    elif run.running and run.job_id and not run.stuck:
        return run
    run.status, run.progress, run.error = RunStatus.QUEUED, 0, None
    run.data, run.file_name, run.file_data = None, None, None
    run.started_at = run.finished_at = None
    run.requested_by_id = by.id if by else None
    run.created_at = utcnow()
    db.session.flush()
    run.job_id = f"report-{run.id}-{int(run.created_at.timestamp() * 1000)}"
    enqueue_after_commit(JOB, run.id, queue="reports", job_id=run.job_id)
    return run


def regenerate(run: ReportRun, by: User) -> ReportRun:
    """Make the report of the same period again (a failed one is retried this way)."""
    return request_report(run.team, run.kind, run.period_start, by)


def team_people(team: Team):
    """Ids of everyone in the team tree who works customers."""
    return select(User.id).where(User.team_id.in_(access.team_subtree_ids(team)),
                                 User.role.in_(access.HOLDS_CUSTOMERS))


def team_summary(team: Team, period: Period, zone: ZoneInfo | None = None) -> dict:
    """The same figures the dashboard shows for the team and period."""
    zone = zone or team_zone(team, strict=True)
    ids = team_people(team)
    people = list(db.session.scalars(select(User).where(User.id.in_(ids))
                                     .order_by(User.name, User.id)))
    return summarise(people, period, zone, people_query=ids, drought_days=team.drought_days)


def notify_managers(run: ReportRun) -> int:
    """Tell the team's managers the report is ready, once per making of it (set-based)."""
    episode = run.finished_at.strftime("%Y%m%dT%H%M%S")
    recipients = access.report_recipients(run.team).subquery()
    rows = select(
        recipients.c.id,
        literal(NotificationKind.REPORT_READY.value),
        literal(f"report_ready:{run.id}:") + cast(recipients.c.id, String)
        + literal(f":{episode}"),
        literal(f"/reports/{run.id}"),
        literal(utcnow(), Notification.created_at.type)
    ).where(recipients.c.id.is_not(None))  # SQLite needs a WHERE before ON CONFLICT
    return notify_from(rows, ["user_id", "kind", "dedupe_key", "link", "created_at"])


def mark_started(run_id: int) -> ReportRun:
    run = db.session.get(ReportRun, run_id)
    if run is None:
        raise LookupError(f"report run {run_id} is gone")
    run.status, run.started_at, run.progress, run.error = RunStatus.RUNNING, utcnow(), 10, None
    return run


# The schedule ---------------------------------------------------------------------------

def due_runs(now: datetime | None = None) -> list[tuple[int, ReportKind, Period]]:
    """For every team: the latest daily, weekly and monthly report that its local schedule
    says should exist by now (daily at its hour for that day; weekly on its weekday for the
    week before; monthly on the 1st for the month before)."""
    now = now or utcnow()
    due = []
    for team in db.session.scalars(select(Team)):
        zone = team_zone(team)
        local = now.astimezone(zone)
        today = local.date()
        day = today if local.hour >= team.report_daily_hour else today - timedelta(days=1)
        due.append((team.id, ReportKind.DAILY, period_for(ReportKind.DAILY, day)))
        this_week = period_for(ReportKind.WEEKLY, today)
        send_on = this_week.start + timedelta(days=team.report_weekly_day % 7)
        reached = (today, local.hour) >= (send_on, team.report_weekly_hour)
        week = this_week.previous() if reached else this_week.previous().previous()
        due.append((team.id, ReportKind.WEEKLY, week))
        this_month = period_for(ReportKind.MONTHLY, today)
        reached = (today, local.hour) >= (this_month.start, team.report_monthly_hour)
        month = this_month.previous() if reached else this_month.previous().previous()
        due.append((team.id, ReportKind.MONTHLY, month))
    return due


def schedule_due(now: datetime | None = None) -> list[int]:
    """Insert the runs that are due and not there yet (set-based, safe to run twice) and
    enqueue them; returns the new runs' ids."""
    due = due_runs(now)
    if not due:
        return []
    created = utcnow()
    values = [{"team_id": team_id, "kind": kind.value, "period_start": period.start,
               "period_end": period.end, "status": RunStatus.QUEUED.value, "progress": 0,
               "created_at": created} for team_id, kind, period in due]
    ids = [row[0] for row in db.session.execute(
        insert_or_ignore(ReportRun, ["team_id", "kind", "period_start"]).values(values)
        .returning(ReportRun.id))]
    if not ids:
        return []
    stamp = int(created.timestamp() * 1000)
    db.session.execute(update(ReportRun).where(ReportRun.id.in_(ids)).values(
        job_id=literal("report-") + cast(ReportRun.id, String) + literal(f"-{stamp}")))
    for run_id in ids:
        enqueue_after_commit(JOB, run_id, queue="reports", job_id=f"report-{run_id}-{stamp}")
    return ids
