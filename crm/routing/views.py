"""Routing and the ideal customer profile, for managers; the public lead form.

    GET  /routing                             → the user's own team's routing page
    GET  /routing/teams/<id>                  rules, settings, profile, people, load vs median
    GET  /routing/teams/<id>/preview          where the next leads would go (dry run)
    POST /routing/teams/<id>/rules            add a rule (last)
    POST /routing/rules/<id>                  save a rule
    POST /routing/rules/<id>/up               move a rule up
    POST /routing/rules/<id>/delete           delete a rule
    POST /routing/teams/<id>/settings         what "least work" means
    POST /routing/teams/<id>/lead-form        a new lead form link
    POST /routing/teams/<id>/lead-form/close  no lead form
    POST /routing/teams/<id>/profile          the ideal customer profile (rescoring everyone)
    POST /routing/teams/<id>/people/<uid>     a rep's specialties and absence
    POST /routing/teams/<id>/rebalance        confirm a suggested move as a transfer
    GET  /leads/<token>, POST /leads/<token>  the public lead form (no sign-in)
"""

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import access
from crm.accounts.models import Team, User
from crm.customers.forms import SIZE_BAND_LABELS
from crm.extensions import db
from crm.htmx import redirect_after_post, render_page
from crm.routing import balance, leads, routing, setup
from crm.routing.forms import (
    ButtonForm,
    LeadForm,
    PersonForm,
    PreviewForm,
    ProfileForm,
    RebalanceForm,
    RuleForm,
    SettingsForm,
)
from crm.routing.models import BALANCE_LABELS, PROFILE_FIELD_LABELS, RoutingRule
from crm.saving import run_change, save_form, saved_and_go

bp = Blueprint("routing", __name__, url_prefix="/routing")
public = Blueprint("leads", __name__, url_prefix="/leads")


@bp.before_request
@login_required
@access.requires(access.may_manage_routing)
def _managers_only():
    return None


def _page_url(team: Team, anchor: str = "") -> str:
    return url_for("routing.show", team_id=team.id) + (f"#{anchor}" if anchor else "")


def _rule_or_404(rule_id: int) -> tuple[RoutingRule, Team]:
    rule = db.session.get(RoutingRule, rule_id)
    if rule is None:
        abort(404)
    return rule, access.routing_team_or_404(current_user, rule.team_id)


def _person_or_404(team: Team, user_id: int) -> User:
    return access.get_visible_or_404(access.routing_people(team), User, user_id)


def _context(team: Team, **forms) -> dict:
    rules = routing.team_rules(team.id)
    settings = routing.settings_of(team.id)
    people = list(db.session.scalars(access.routing_people(team)))
    rows, middle, balance_by = balance.loads(team)
    profile = ProfileForm(data=setup.profile_texts(team.id), prefix="profile")
    return {
        "team": team, "teams": list(db.session.scalars(access.routing_teams(current_user)
                                                        .order_by(Team.path))),
        "rules": rules,
        "rule_forms": {rule.id: RuleForm(obj=rule, prefix=f"rule{rule.id}") for rule in rules},
        "new_rule": forms.get("new_rule") or RuleForm(prefix="new"),
        "settings": settings,
        "settings_form": forms.get("settings_form") or SettingsForm(
            data={"balance_by": settings.balance_by.value}),
        "profile_form": forms.get("profile_form") or profile,
        "people": people,
        "person_forms": {person.id: PersonForm(obj=person, prefix=f"p{person.id}")
                         for person in people},
        "loads": rows, "median": middle, "balance_by": balance_by,
        "moves": balance.suggest(rows, middle),
        "preview_form": PreviewForm(request.args if request.args else None),
        "button": ButtonForm(), "rebalance_form": RebalanceForm(),
        "balance_labels": BALANCE_LABELS, "field_labels": PROFILE_FIELD_LABELS,
        "size_band_labels": SIZE_BAND_LABELS,
    }


@bp.get("")
def index():
    teams = list(db.session.scalars(access.routing_teams(current_user).order_by(Team.path)))
    own = next((team for team in teams if team.id == current_user.team_id), None)
    team = own or (teams[0] if teams else None)
    if team is None:
        abort(404)
    return redirect(_page_url(team))


@bp.get("/teams/<int:team_id>")
def show(team_id: int):
    team = access.routing_team_or_404(current_user, team_id)
    return render_page("routing/show.html", **_context(team))


@bp.get("/teams/<int:team_id>/preview")
def preview(team_id: int):
    team = access.routing_team_or_404(current_user, team_id)
    form = PreviewForm(request.args)
    decisions = []
    if form.validate():
        sample = {name: (form[name].data or "").strip() or None
                  for name in ("industry", "size_band", "region", "source_channel")}
        decisions = routing.dry_run(team, [sample] * (form.count.data or 10))
    return render_page("routing/preview.html", "routing/_preview.html", team=team, form=form,
                       decisions=decisions, explain=routing.explain,
                       balance_by=routing.settings_of(team.id).balance_by,
                       status=200 if not form.errors else 422)


# Rules -------------------------------------------------------------------------------------

def _rule_values(form: RuleForm) -> dict:
    return {name: form[name].data for name in setup.RULE_FIELDS}


def _page_with(team: Team, status: int, **forms):
    return render_page("routing/show.html", status=status, **_context(team, **forms))


@bp.post("/teams/<int:team_id>/rules")
def create_rule(team_id: int):
    team = access.routing_team_or_404(current_user, team_id)
    form = RuleForm(prefix="new")
    return save_form(form, lambda: setup.save_rule(team, _rule_values(form)),
                     page=lambda status: _page_with(team, status, new_rule=form),
                     done=lambda _rule: saved_and_go(_page_url(team, "rules"),
                                                     _("Rule added.")))


@bp.post("/rules/<int:rule_id>")
def update_rule(rule_id: int):
    rule, team = _rule_or_404(rule_id)
    form = RuleForm(prefix=f"rule{rule.id}")

    def page(status):
        context = _context(team)
        context["rule_forms"][rule.id] = form
        return render_page("routing/show.html", status=status, **context)

    return save_form(form, lambda: setup.save_rule(team, _rule_values(form), rule), page=page,
                     done=lambda _rule: saved_and_go(_page_url(team, "rules"), _("Saved.")))


@bp.post("/rules/<int:rule_id>/up")
def move_rule_up(rule_id: int):
    rule, team = _rule_or_404(rule_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    return run_change(lambda: setup.move_rule_up(rule),
                      done=lambda _r: saved_and_go(_page_url(team, "rules")),
                      refused_url=_page_url(team, "rules"))


@bp.post("/rules/<int:rule_id>/delete")
def delete_rule(rule_id: int):
    rule, team = _rule_or_404(rule_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    return run_change(lambda: setup.delete_rule(rule),
                      done=lambda _r: saved_and_go(_page_url(team, "rules"),
                                                   _("Rule deleted.")),
                      refused_url=_page_url(team, "rules"))


# Settings, lead form, profile, people ------------------------------------------------------

@bp.post("/teams/<int:team_id>/settings")
def update_settings(team_id: int):
    team = access.routing_team_or_404(current_user, team_id)
    form = SettingsForm()
    return save_form(form, lambda: setup.set_balance(team, form.balance_by.data),
                     page=lambda status: _page_with(team, status, settings_form=form),
                     done=lambda _r: saved_and_go(_page_url(team, "settings"), _("Saved.")))


@bp.post("/teams/<int:team_id>/lead-form")
def renew_lead_form(team_id: int):
    team = access.routing_team_or_404(current_user, team_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    return run_change(lambda: setup.renew_lead_form(team),
                      done=lambda _t: saved_and_go(_page_url(team, "lead-form"),
                                                   _("The lead form has a new link.")),
                      refused_url=_page_url(team, "lead-form"))


@bp.post("/teams/<int:team_id>/lead-form/close")
def close_lead_form(team_id: int):
    team = access.routing_team_or_404(current_user, team_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    return run_change(lambda: setup.close_lead_form(team),
                      done=lambda _t: saved_and_go(_page_url(team, "lead-form"),
                                                   _("The lead form is closed.")),
                      refused_url=_page_url(team, "lead-form"))


@bp.post("/teams/<int:team_id>/profile")
def update_profile(team_id: int):
    team = access.routing_team_or_404(current_user, team_id)
    form = ProfileForm(prefix="profile")
    texts = {name: form[name].data for name in PROFILE_FIELD_LABELS}
    return save_form(form, lambda: setup.save_profile(team, texts),
                     page=lambda status: _page_with(team, status, profile_form=form),
                     done=lambda _r: saved_and_go(
                         _page_url(team, "profile"),
                         _("Profile saved; fit scores are being updated.")))


@bp.post("/teams/<int:team_id>/people/<int:user_id>")
def update_person(team_id: int, user_id: int):
    team = access.routing_team_or_404(current_user, team_id)
    person = _person_or_404(team, user_id)
    form = PersonForm(prefix=f"p{person.id}")

    def page(status):
        context = _context(team)
        context["person_forms"][person.id] = form
        return render_page("routing/show.html", status=status, **context)

    values = {name: form[name].data for name in ("specialty_industries", "specialty_size_band",
                                                 "specialty_regions", "away_until")}
    return save_form(form, lambda: setup.save_person(person, values), page=page,
                     done=lambda _r: saved_and_go(_page_url(team, "people"), _("Saved.")))


@bp.post("/teams/<int:team_id>/rebalance")
def rebalance(team_id: int):
    team = access.routing_team_or_404(current_user, team_id)
    form = RebalanceForm()
    back = _page_url(team, "load")
    if not form.validate_on_submit():
        abort(400)
    try:
        from_id, to_id, count = (int(form.from_user_id.data), int(form.to_user_id.data),
                                 int(form.count.data))
    except (TypeError, ValueError):
        abort(400)
    if not 1 <= count <= 10000 or from_id == to_id:
        abort(400)
    giver, receiver = _person_or_404(team, from_id), _person_or_404(team, to_id)
    return run_change(
        lambda: balance.rebalance(team, giver, receiver, count, current_user),
        done=lambda moved: saved_and_go(back, _("%(count)d customers transferred to "
                                                "%(name)s.", count=moved, name=receiver.name)),
        refused_url=back)


# The public lead form ----------------------------------------------------------------------

def _lead_team_or_404(token: str) -> Team:
    team = leads.team_of_token(token)
    if team is None:
        abort(404)
    return team


def _lead_page(team: Team, form: LeadForm, status: int = 200, thanks: bool = False):
    response = render_page("routing/lead_form.html", team=team, form=form, thanks=thanks,
                           status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@public.get("/<token>")
def lead_form(token: str):
    team = _lead_team_or_404(token)
    return _lead_page(team, LeadForm(), thanks=request.args.get("sent") == "1")


def _thanked(token: str):
    """POST/redirect/GET to the thanks: the same for a new lead, a known customer and a bot,
    so the answer reveals nothing."""
    return redirect_after_post(url_for("leads.lead_form", token=token, sent=1))


@public.post("/<token>")
def submit_lead(token: str):
    team = _lead_team_or_404(token)
    form = LeadForm()
    if form.website.data:
        return _thanked(token)  # a bot filled the hidden field: keep nothing
    if leads.over_rate_limit(team.id, request.remote_addr or "unknown"):
        form.form_errors.append(_("Too many messages from here. Please try again later."))
        return _lead_page(team, form, status=429)
    values = {name: form[name].data for name in ("name", "phone", "organisation", "needs")}
    return save_form(form, lambda: leads.receive_lead(team, values),
                     page=lambda status: _lead_page(team, form, status=status),
                     done=lambda _id: _thanked(token))
