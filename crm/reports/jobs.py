"""Worker jobs of reports: make one report, and ask for the ones the schedule says are due.

The job never holds a transaction open while it computes: it marks the run started and
commits, computes, and commits the result; a failure is kept on the run (why, and that it
failed) and raised again so the worker lists it too."""

from flask_babel import force_locale

from crm.clock import utcnow
from crm.extensions import db
from crm.metrics.periods import Period
from crm.reports import reports
from crm.reports.files import workbook_bytes
from crm.reports.models import KIND_LABELS, ReportRun, RunStatus


def generate_report(run_id: int) -> int:
    run = reports.mark_started(run_id)
    db.session.commit()
    try:
        team = run.team
        period = Period(reports.PERIOD_OF[run.kind], run.period_start, run.period_end)
        data = reports.team_summary(team, period)
        run.progress = 70
        with force_locale("zh_CN"):
            title = f"{team.name} · {KIND_LABELS[run.kind]} · {run.period_start.isoformat()}"
            file_data = workbook_bytes(data, title)
        run.data, run.file_data = data, file_data
        run.file_name = f"report-{team.id}-{run.kind.value}-{run.period_start.isoformat()}.xlsx"
        run.status, run.progress, run.finished_at = RunStatus.DONE, 100, utcnow()
        reports.notify_managers(run)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        failed = db.session.get(ReportRun, run_id)
        if failed is not None:
            failed.status, failed.finished_at = RunStatus.FAILED, utcnow()
            failed.error = (str(error) or type(error).__name__)[:300]
            db.session.commit()
        raise
    return run_id


def schedule_reports() -> int:
    """Periodic: the reports each team's schedule says are due (crm/cron.py)."""
    created = reports.schedule_due()
    db.session.commit()
    return len(created)
