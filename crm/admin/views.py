"""Administration: accounts and the team tree. Admins only."""


from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, or_, select

from crm import access
from crm.access import assignable_users, get_visible_or_404
from crm.accounts.models import Role, Team, User
from crm.accounts.passwords import temporary_password
from crm.accounts.teams import (
    create_team,
    delete_team,
    move_team,
    set_pool_rules,
    set_review_target,
    team_tree,
)
from crm.accounts.users import (
    create_user,
    deactivate_user,
    reactivate_user,
    reset_password,
    update_user,
)
from crm.admin.forms import NewUserForm, TeamForm, UserFilterForm, UserForm
from crm.checkins.checking import set_check_in_distance
from crm.customers.ownership import hand_over_customers
from crm.extensions import db
from crm.forms import choices, optional_int
from crm.htmx import redirect_after_post, render_page
from crm.pagination import keyset_page
from crm.pipeline.deals import set_grade_windows
from crm.reminders.team_settings import REMINDER_FIELDS, set_reminder_settings
from crm.reports.reports import set_report_settings
from crm.saving import run_change, save_form, saved_and_go

bp = Blueprint("admin", __name__, url_prefix="/admin")

PROFILE_FIELDS = ("phone", "locale", "timezone", "specialty_industries", "specialty_size_band")


@bp.before_request
@access.requires(access.may_administer)
def _admins_only():
    return None  # the decorator refuses everyone but admins


def _get_user_or_404(user_id: int) -> User:
    return get_visible_or_404(select(User), User, user_id)


def _get_team_or_404(team_id: int) -> Team:
    return get_visible_or_404(select(Team), Team, team_id)


def _team_or_none(team_id: int | None) -> Team | None:
    return db.session.get(Team, team_id) if team_id else None


def _profile(form) -> dict:
    return {name: (getattr(form, name).data or None) for name in PROFILE_FIELDS}



def _show_password_once(user: User, password: str, *, new_account: bool = False):
    """In this response only: never flashed into a cookie, never logged, never cached.
    A reset signs the user out everywhere; a new account had no session to sign out."""
    response = render_page("admin/password_issued.html", user=user, password=password,
                           new_account=new_account)
    response.headers["Cache-Control"] = "no-store"
    return response


# Users -----------------------------------------------------------------------------------

@bp.get("/users")
def users():
    teams = team_tree()
    filters = UserFilterForm(request.args)
    filters.team_id.choices = choices([("", _("All teams"))] + [
        (t.id, "· " * t.depth + t.name) for t in teams])
    query = select(User)
    if filters.q.data:
        like = f"%{filters.q.data.strip()}%"
        query = query.where(or_(User.name.ilike(like), User.email.ilike(like)))
    if filters.role.data in set(Role):
        query = query.where(User.role == Role(filters.role.data))
    team_id = filters.team_id.data if isinstance(filters.team_id.data, int) else None
    if team_id:
        query = query.where(User.team_id == team_id)
    if filters.status.data != "all":
        query = query.where(User.active.is_(filters.status.data != "inactive"))
    page = keyset_page(query, [User.name, User.id], request.args.get("after"))
    teams_by_id = {t.id: t for t in teams}
    return render_page("admin/users.html", "admin/_user_rows.html", filters=filters, page=page,
                       teams_by_id=teams_by_id)


@bp.get("/users/new")
def new_user():
    form = NewUserForm(teams=team_tree(), timezone=current_app.config["DEFAULT_TIMEZONE"])
    return render_page("admin/user_form.html", form=form, user=None)


@bp.post("/users")
def create_user_view():
    form = NewUserForm(teams=team_tree())
    temporary = None if form.password.data else temporary_password()

    def created(user):
        if temporary:
            return _show_password_once(user, temporary, new_account=True)
        return saved_and_go(url_for("admin.users"),
                            _("Account created for %(name)s.", name=user.name))

    return save_form(
        form, lambda: create_user(email=form.email.data, name=form.name.data,
                                  role=Role(form.role.data),
                                  team=_team_or_none(form.team_id.data),
                                  password=form.password.data or temporary,
                                  must_change_password=temporary is not None, **_profile(form)),
        page=lambda status: render_page("admin/user_form.html", form=form, user=None,
                                        status=status),
        done=created)


@bp.get("/users/<int:user_id>/edit")
def edit_user(user_id: int):
    user = _get_user_or_404(user_id)
    form = UserForm(teams=team_tree(), obj=user, role=user.role.value, version=user.version,
                    timezone=user.timezone or current_app.config["DEFAULT_TIMEZONE"],
                    locale=user.locale or "")
    return render_page("admin/user_form.html", form=form, user=user,
                       handover_candidates=_handover_candidates(user))


@bp.post("/users/<int:user_id>")
def update_user_view(user_id: int):
    user = _get_user_or_404(user_id)
    form = UserForm(teams=team_tree())
    return save_form(
        form, lambda: update_user(user, form.opened_version(), email=form.email.data,
                                  name=form.name.data, role=Role(form.role.data),
                                  team=_team_or_none(form.team_id.data), by=current_user,
                                  **_profile(form)),
        # Stale: the saved version shows beside what the admin typed.
        page=lambda status, stale=False: render_page(
            "admin/user_form.html", form=form, user=user, stale=stale,
            handover_candidates=_handover_candidates(user), status=status),
        saved=user,
        done=lambda _result: saved_and_go(url_for("admin.users"),
                                          _("Changes to %(name)s saved.", name=user.name)))


def _handover_candidates(user: User) -> list[User]:
    return list(db.session.scalars(assignable_users(current_user, exclude_id=user.id)))


@bp.post("/users/<int:user_id>/deactivate")
def deactivate(user_id: int):
    """Deactivate and, in the same transaction, hand all their customers on."""
    user = _get_user_or_404(user_id)
    handover_id = optional_int(request.form.get("handover_to"))
    receiver = None
    if handover_id is not None:
        receiver = {u.id: u for u in _handover_candidates(user)}.get(handover_id)
        if receiver is None:
            abort(400)
    page = url_for("admin.edit_user", user_id=user.id)

    def deactivate_and_hand_over():
        moved = hand_over_customers(user, receiver, by=current_user)
        deactivate_user(user, by=current_user)
        return moved

    def done(moved):
        flash(_("%(name)s is deactivated and signed out everywhere.", name=user.name), "success")
        if moved:
            flash(ngettext("%(num)d customer handed over.", "%(num)d customers handed over.",
                           moved), "success")
        return redirect_after_post(page)

    return run_change(deactivate_and_hand_over, done=done, refused_url=page)


@bp.post("/users/<int:user_id>/reactivate")
def reactivate(user_id: int):
    user = _get_user_or_404(user_id)
    page = url_for("admin.edit_user", user_id=user.id)
    return run_change(lambda: reactivate_user(user),
                      done=lambda _result: saved_and_go(page, _("%(name)s can sign in again.",
                                                                name=user.name)),
                      refused_url=page)


@bp.post("/users/<int:user_id>/password-reset")
def reset_user_password(user_id: int):
    user = _get_user_or_404(user_id)
    if user.id == current_user.id:
        abort(400)
    return run_change(lambda: reset_password(user),
                      done=lambda temporary: _show_password_once(user, temporary),
                      refused_url=url_for("admin.edit_user", user_id=user.id))


# Teams -----------------------------------------------------------------------------------

def _member_counts() -> dict[int, int]:
    rows = db.session.execute(
        select(User.team_id, func.count()).where(User.active.is_(True)).group_by(User.team_id))
    return {team_id: count for team_id, count in rows}


@bp.get("/teams")
def teams():
    tree = team_tree()
    return render_page("admin/teams.html", teams=tree, counts=_member_counts(),
                       form=TeamForm(teams=tree))


@bp.post("/teams")
def create_team_view():
    tree = team_tree()
    form = TeamForm(teams=tree)

    def create():
        team = create_team(form.name.data, _team_or_none(form.parent_id.data))
        _apply_settings(team, form)
        return team

    return save_form(
        form, create,
        page=lambda status: render_page("admin/teams.html", teams=tree,
                                        counts=_member_counts(), form=form, status=status),
        done=lambda team: saved_and_go(url_for("admin.teams"),
                                       _("Team %(name)s created.", name=team.name)))


def _apply_settings(team, form) -> None:
    """The team form's settings: pool rules, review target, grade windows."""
    set_pool_rules(team, protection_days=form.protection_days.data,
                   holding_limit=form.holding_limit.data,
                   expiry_warning_days=form.expiry_warning_days.data)
    set_review_target(team, form.daily_review_target.data)
    set_grade_windows(team, a=form.grade_a_days.data, b=form.grade_b_days.data,
                      c=form.grade_c_days.data)
    set_report_settings(team, timezone=form.timezone.data,
                        hides_amounts=form.leaderboard_hides_amounts.data,
                        daily_hour=form.report_daily_hour.data,
                        weekly_day=form.report_weekly_day.data,
                        weekly_hour=form.report_weekly_hour.data,
                        monthly_hour=form.report_monthly_hour.data)
    set_check_in_distance(team, form.check_in_far_metres.data)
    set_reminder_settings(team, {name: getattr(form, name).data for name in REMINDER_FIELDS})


@bp.get("/teams/<int:team_id>/edit")
def edit_team(team_id: int):
    team = _get_team_or_404(team_id)
    form = TeamForm(teams=team_tree(), exclude_path=team.path, obj=team)
    members = db.session.scalars(select(User).where(User.team_id == team.id)
                                 .order_by(User.active.desc(), User.name)).all()
    return render_page("admin/team_form.html", form=form, team=team, members=members)


@bp.post("/teams/<int:team_id>")
def update_team(team_id: int):
    team = _get_team_or_404(team_id)
    form = TeamForm(teams=team_tree(), exclude_path=team.path)

    def save():
        _apply_settings(team, form)
        # Renamed and moved in one step: the name must be free where the team ends up.
        move_team(team, _team_or_none(form.parent_id.data), name=form.name.data)

    return save_form(
        form, save,
        page=lambda status: render_page(
            "admin/team_form.html", form=form, team=team, status=status,
            members=db.session.scalars(select(User).where(User.team_id == team.id)).all()),
        done=lambda _result: saved_and_go(url_for("admin.teams"), _("Team saved.")))


@bp.post("/teams/<int:team_id>/delete")
def destroy_team(team_id: int):
    team = _get_team_or_404(team_id)
    return run_change(lambda: delete_team(team),
                      done=lambda _result: saved_and_go(url_for("admin.teams"),
                                                        _("Team deleted.")),
                      refused_url=url_for("admin.edit_team", team_id=team.id))
