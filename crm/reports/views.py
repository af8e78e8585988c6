"""Team reports (/reports): history, asking for one, its status while the worker makes it,
the HTML view and the XLSX and CSV downloads."""

from datetime import timedelta

from flask import Blueprint, Response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import update

from crm import access
from crm.accounts.models import Team
from crm.clock import utcnow
from crm.extensions import db
from crm.htmx import render_page
from crm.metrics.charts import bar_chart
from crm.metrics.periods import today_in
from crm.metrics.summary import metric_label, metric_unit, team_zone
from crm.notifications.models import Notification
from crm.pipeline.models import STAGE_LABELS, Stage
from crm.reports.files import csv_text
from crm.reports.forms import RequestForm
from crm.reports.models import KIND_LABELS, STATUS_LABELS, ReportKind, ReportRun
from crm.reports.reports import regenerate, request_report
from crm.saving import run_change, save_form, saved_and_go

bp = Blueprint("reports", __name__)

HISTORY = 60


@bp.before_request
@login_required
@access.requires(access.may_use_reports)
def _readers_only():
    return None


@bp.context_processor
def _labels():
    return {"kind_labels": KIND_LABELS, "status_labels": STATUS_LABELS}


def _team_id() -> int | None:
    value = request.args.get("team", "")
    return int(value) if value.isdecimal() and value.isascii() and len(value) < 10 else None


def _page(form, team, status=200):
    runs = access.report_runs_scope(current_user)
    if team is not None:
        runs = runs.where(ReportRun.team_id == team.id)
    history = db.session.scalars(runs.order_by(ReportRun.period_start.desc(),
                                               ReportRun.id.desc()).limit(HISTORY)).all()
    teams = db.session.scalars(access.teams_scope(current_user).order_by(Team.path)).all()
    form.team_id.choices = [(t.id, ("· " * t.depth) + t.name) for t in teams]
    return render_page("reports/index.html", form=form, team=team, teams=teams,
                       history=history, status=status)


@bp.get("/reports")
def index():
    team_id = _team_id()
    team = access.report_team_or_404(current_user, team_id) if team_id is not None else None
    default_team = team or (current_user.team if access.leads_teams(current_user) else None)
    form = RequestForm(team_id=default_team.id if default_team else None,
                       day=today_in(team_zone(default_team)))
    return _page(form, team)


@bp.post("/reports")
def create():
    form = RequestForm()

    def change():
        team = access.report_team_or_404(current_user, form.team_id.data)
        return request_report(team, ReportKind(form.kind.data), form.day.data, current_user)

    return save_form(
        form, change, page=lambda status, **_kw: _page(form, None, status=status),
        done=lambda run: saved_and_go(url_for("reports.show", run_id=run.id),
                                      _("The report is being made.")))


@bp.get("/reports/<int:run_id>")
def show(run_id: int):
    run = access.report_run_or_404(current_user, run_id)
    db.session.execute(update(Notification).where(
        Notification.user_id == current_user.id, Notification.link == f"/reports/{run.id}",
        Notification.read_at.is_(None)).values(read_at=utcnow()))
    db.session.commit()
    data = run.data
    charts = {name: bar_chart(points) for name, points in data["trends"].items()} \
        if data else {}
    return render_page("reports/show.html", "reports/_status.html", run=run, data=data,
                       charts=charts, last_day=run.period_end - timedelta(days=1),
                       label=metric_label, unit=metric_unit, targets={},
                       stage_labels={stage.value: STAGE_LABELS[stage] for stage in Stage})


@bp.get("/reports/<int:run_id>/status")
def status(run_id: int):
    run = access.report_run_or_404(current_user, run_id)
    return render_page("reports/_status.html", run=run)


@bp.post("/reports/<int:run_id>/regenerate")
def regenerate_run(run_id: int):
    run = access.report_run_or_404(current_user, run_id)
    return run_change(lambda: regenerate(run, current_user),
                      done=lambda again: saved_and_go(url_for("reports.show", run_id=again.id),
                                                      _("The report is being made again.")),
                      refused_url=url_for("reports.show", run_id=run.id))


def _ready_or_404(run_id: int) -> ReportRun:
    from flask import abort

    run = access.report_run_or_404(current_user, run_id)
    if run.data is None or run.file_data is None:
        abort(404)
    return run


@bp.get("/reports/<int:run_id>/xlsx")
def xlsx(run_id: int):
    run = _ready_or_404(run_id)
    return Response(run.file_data, headers={
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Content-Disposition": f'attachment; filename="{run.file_name}"',
        "Cache-Control": "private, no-store"})


@bp.get("/reports/<int:run_id>/csv")
def csv(run_id: int):
    run = _ready_or_404(run_id)
    name = (run.file_name or "report.xlsx").rsplit(".", 1)[0] + ".csv"
    # A byte-order mark so that spreadsheet programs read the Chinese as UTF-8.
    return Response("\ufeff" + csv_text(run.data), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store"})
