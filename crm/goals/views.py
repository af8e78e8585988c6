"""Goals (/goals): a team's targets for a month, quarter or year with computed progress,
each member's share, the leaderboard, locking and the history of changes."""

from datetime import date

from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm import access
from crm.accounts.models import Team, User
from crm.extensions import db
from crm.goals import goals as rules
from crm.goals.board import is_amount, leaderboard
from crm.goals.forms import GoalForm, LockForm, SplitForm, TargetForm
from crm.goals.models import PERIOD_LABELS, Goal, GoalChange, GoalPeriod
from crm.goals.progress import PACE_LABELS, progress_of
from crm.htmx import render_page
from crm.metrics.periods import Period, today_in
from crm.metrics.registry import Window, compute, metric_choices
from crm.metrics.summary import metric_label, metric_unit, team_zone
from crm.saving import run_change, save_form, saved_and_go

bp = Blueprint("goals", __name__)


@bp.before_request
@login_required
def _signed_in_only():
    return None


def _number(name: str, source=None) -> int | None:
    value = (source or request.args).get(name, "")
    return int(value) if value.isdecimal() and value.isascii() and len(value) < 10 else None


def _team() -> Team:
    team_id = _number("team")
    if team_id is not None:
        return access.team_or_404(current_user, team_id)
    if current_user.team is not None:
        return current_user.team
    first = db.session.scalars(access.teams_scope(current_user).order_by(Team.path)).first()
    if first is None:
        abort(404)
    return first


def _period(team: Team, source=None) -> Period:
    source = source or request.args
    kind = source.get("period", "month")
    kind = kind if kind in set(GoalPeriod) else "month"
    try:
        day = date.fromisoformat(source.get("start", ""))
    except ValueError:
        day = today_in(team_zone(team))
    if not date(2000, 1, 1) <= day <= date(2100, 1, 1):
        day = today_in(team_zone(team))
    return Period.containing(kind, day)


def _members(team: Team) -> list[User]:
    """The team's people the user may see: a rep sees their colleagues on the leaderboard."""
    return list(db.session.scalars(
        access.people_at_work(current_user).where(
            User.team_id.in_(access.team_subtree_ids(team)), User.active.is_(True))
        .order_by(User.name, User.id)))


def _page(team: Team, period: Period, *, form=None, status=200):
    goals = list(db.session.scalars(
        access.goals_scope(current_user).where(
            Goal.team_id == team.id, Goal.period_start >= period.start,
            Goal.period_start < period.end)
        .options(joinedload(Goal.user), joinedload(Goal.team))
        .order_by(Goal.period.desc(), Goal.period_start, Goal.metric, Goal.user_id.is_not(None),
                  Goal.user_id)))
    progress = progress_of(goals)
    checks = rules.parts_checks(goals)
    members = _members(team)
    team_goals = [g for g in goals if g.user_id is None and g.period == period.kind]
    member_goals = [g for g in goals if g.user_id is not None and g.period == period.kind]
    board = {}
    if team_goals and members:
        zone = team_zone(team)
        figures = compute({g.metric for g in team_goals},
                          Window(select(User.id).where(User.id.in_([m.id for m in members])),
                                 period, zone))
        board = leaderboard(team_goals, member_goals, members, figures)
    history = db.session.scalars(
        select(GoalChange).where(GoalChange.goal_id.in_([g.id for g in goals]))
        .options(joinedload(GoalChange.by_user))
        .order_by(GoalChange.at.desc(), GoalChange.id.desc()).limit(30)).all() if goals else []
    goals_by_id = {g.id: g for g in goals}
    if form is None:
        form = GoalForm(team_id=team.id, period=period.kind, start=period.start)
    form.metric.choices = [(name, str(label)) for name, label in metric_choices()]
    form.user_id.choices = [("", _("The whole team"))] + [(m.id, m.name) for m in members]
    teams = db.session.scalars(access.teams_scope(current_user).order_by(Team.path)).all() \
        if access.looks_across_people(current_user) else []
    return render_page(
        "goals/index.html", status=status, team=team, teams=teams, period=period, goals=goals,
        progress=progress, checks=checks, members=members, board=board, history=history,
        goals_by_id=goals_by_id, form=form, split_form=SplitForm(), lock_form=LockForm(),
        team_goals=team_goals, label=metric_label, unit=metric_unit, is_amount=is_amount,
        period_labels=PERIOD_LABELS, pace_labels=PACE_LABELS,
        hides_amounts=team.leaderboard_hides_amounts,
        may_set=access.may_set_goals(current_user) and db.session.scalar(
            access.goal_teams(current_user).where(Team.id == team.id)
            .with_only_columns(Team.id)) is not None,
        locked=any(g.locked for g in goals))


@bp.get("/goals")
def index():
    team = _team()
    return _page(team, _period(team))


def _back(goal_or_team, period_kind, start) -> str:
    team_id = goal_or_team.team_id if isinstance(goal_or_team, Goal) else goal_or_team.id
    return url_for("goals.index", team=team_id, period=str(period_kind), start=start.isoformat())


@bp.post("/goals")
def create():
    form = GoalForm()
    team_id = _number("team_id", request.form)
    if team_id is None:
        abort(404)
    team = access.goal_team_or_404(current_user, team_id)
    members = {m.id: m for m in _members(team)}
    form.user_id.choices = [("", "")] + [(m, "") for m in members]
    period = _period(team, request.form)

    def change():
        member = None
        if form.user_id.data is not None:
            member = members.get(form.user_id.data)
            if member is None:
                abort(404)
        return rules.set_goal(team, member, form.metric.data, form.period.data,
                              form.start.data, form.target.data, current_user)

    return save_form(form, change,
                     page=lambda status, **_kw: _page(team, period, form=form, status=status),
                     done=lambda goal: saved_and_go(
                         _back(goal, goal.period, goal.period_start), _("Goal saved.")))


@bp.post("/goals/<int:goal_id>")
def update(goal_id: int):
    goal = access.goal_or_404(current_user, goal_id, to_edit=True)
    form = TargetForm()
    period = rules.period_of(goal.period, goal.period_start)
    return save_form(form, lambda: rules.change_target(goal, form.target.data, current_user,
                                                       form.opened_version()),
                     page=lambda status, **_kw: _page(goal.team, period, status=status),
                     saved=goal,
                     done=lambda _g: saved_and_go(_back(goal, goal.period, goal.period_start),
                                                  _("Goal saved.")))


@bp.post("/goals/<int:goal_id>/split")
def split(goal_id: int):
    goal = access.goal_or_404(current_user, goal_id, to_split=True)
    form = SplitForm()
    members = _members(goal.team)
    back = _back(goal, goal.period, goal.period_start)
    weights = None
    if form.mode.data == "weights":
        weights = [request.form.get(f"weight-{m.id}", "0").strip() or "0" for m in members]
    if not form.validate_on_submit():
        return _page(goal.team, rules.period_of(goal.period, goal.period_start), status=422)
    return run_change(lambda: rules.split_to_members(goal, members, weights, current_user),
                      done=lambda parts: saved_and_go(back, _("The goal is split among %(n)d "
                                                              "people.", n=len(parts))),
                      refused_url=back)


@bp.post("/goals/<int:goal_id>/months")
def months(goal_id: int):
    goal = access.goal_or_404(current_user, goal_id, to_split=True)
    back = _back(goal, goal.period, goal.period_start)
    return run_change(lambda: rules.split_to_months(goal, current_user),
                      done=lambda _parts: saved_and_go(back, _("The quarter is split into "
                                                               "months.")),
                      refused_url=back)


@bp.post("/goals/lock")
def lock():
    form = LockForm()
    team_id = _number("team_id", request.form)
    if team_id is None:
        abort(404)
    team = access.goal_team_or_404(current_user, team_id)
    period = _period(team, request.form)
    locked = form.locked.data == "1"
    back = _back(team, period.kind, period.start)
    if not form.validate_on_submit():
        abort(400)
    return run_change(lambda: rules.set_locked(team, period.kind, period.start, locked,
                                               current_user),
                      done=lambda _n: saved_and_go(back, _("Goals locked.") if locked
                                                   else _("Goals unlocked.")),
                      refused_url=back)
