"""The dashboard (/dashboard): a team's or a rep's numbers for a period, phone first."""

from flask import Blueprint, request
from flask_login import current_user, login_required
from sqlalchemy import select

from crm import access, clock
from crm.accounts.models import Team, User
from crm.extensions import db
from crm.htmx import render_page
from crm.metrics.charts import bar_chart
from crm.metrics.periods import KIND_LABELS, parse_period
from crm.metrics.summary import metric_label, metric_unit, summarise, team_zone
from crm.pipeline.models import STAGE_LABELS, Stage

bp = Blueprint("dashboard", __name__)

PERIOD_CHOICES = ("week", "month", "quarter", "custom")


def subject_for(user, team_id: int | None):
    """(team or None, people query, zone) the user reads: a chosen team's tree, a manager's
    own tree, a rep's own numbers, or, for office and admin, everyone in their own zone."""
    people = access.dashboard_people(user)
    team = None
    if team_id is not None and access.looks_across_people(user):
        team = access.team_or_404(user, team_id)
    elif access.leads_teams(user) and user.team is not None:
        team = user.team
    if team is not None:
        people = people.where(User.team_id.in_(access.team_subtree_ids(team)))
        return team, people, team_zone(team)
    if not access.looks_across_people(user):
        return None, people, team_zone(user.team)
    return None, people, clock.user_zone()


def _team_id() -> int | None:
    value = request.args.get("team", "")
    return int(value) if value.isdecimal() and value.isascii() and len(value) < 10 else None


@bp.get("/dashboard")
@login_required
def index():
    team, people_query, zone = subject_for(current_user, _team_id())
    period = parse_period(request.args, zone, default="month")
    people = list(db.session.scalars(people_query.order_by(User.name, User.id)))
    ids = select(User.id).where(User.id.in_(people_query.with_only_columns(User.id)))
    own = team or current_user.team
    data = summarise(people, period, zone, people_query=ids,
                     drought_days=own.drought_days if own is not None else None)
    from crm.goals.progress import targets_for

    targets = targets_for(current_user, team, period, zone)
    teams = list(db.session.scalars(access.dashboard_teams(current_user).order_by(Team.path)))
    return render_page(
        "dashboard/index.html", data=data, team=team, teams=teams, period=period,
        zone=zone, period_labels=KIND_LABELS, period_choices=PERIOD_CHOICES,
        charts={name: bar_chart(points) for name, points in data["trends"].items()},
        label=metric_label, unit=metric_unit, targets=targets,
        stage_labels={stage.value: STAGE_LABELS[stage] for stage in Stage},
        board_args={"team": team.id} if team else (
            {} if access.looks_across_people(current_user) else {"owner": current_user.id}))
