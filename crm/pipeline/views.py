"""Deals on the customer card, the deal page, the board, the review sheet and A deals."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from crm import access
from crm.accounts.models import Role, Team, User
from crm.accounts.views import safe_next_url
from crm.clock import utcnow
from crm.customers.views import get_editable_customer_or_404
from crm.errors import DomainError, StaleEdit
from crm.extensions import db
from crm.forms import show_domain_error
from crm.htmx import form_error_status, is_fragment_request, redirect_after_post, render_page
from crm.i18n import select_timezone
from crm.pipeline import board as board_module
from crm.pipeline.contact import latest_follow_ups
from crm.pipeline.deals import create_deal, move_deal, review_deal, update_deal
from crm.pipeline.forms import DealForm, MoveForm, ReviewForm
from crm.pipeline.models import (
    BOARD_STAGES,
    GRADE_LABELS,
    OPEN_STAGES,
    STAGE_LABELS,
    Deal,
    DealEvent,
    DealReview,
    Grade,
    Stage,
)
from crm.pipeline.sheet import reps_alongside, sheet_rows

bp = Blueprint("pipeline", __name__)


@bp.before_request
@login_required
def _signed_in_only():
    return None


# Words every deal card repeats. Translated once per page rather than once per card: a
# board shows hundreds of cards and each lookup costs as much as the rest of the card.
CARD_WORDS = {"move": _l("Move"), "move_to": _l("Move to"),
              "amount": _l("Amount (¥), needed to win"),
              "reason": _l("Reason, needed when lost"), "no_amount": _l("No amount yet"),
              "never": _l("Never contacted"), "overdue": _l("overdue"),
              "today": _l("Contacted today")}


@bp.context_processor
def _labels():
    return {"stage_labels": STAGE_LABELS, "grade_labels": GRADE_LABELS,
            "board_stages": BOARD_STAGES, "today": _today(), "now": utcnow(), "zone": _zone(),
            "stage_names": {stage: str(label) for stage, label in STAGE_LABELS.items()},
            "grade_names": {grade: str(label) for grade, label in GRADE_LABELS.items()},
            "card_words": {key: str(word) for key, word in CARD_WORDS.items()}}


def _zone() -> ZoneInfo:
    return ZoneInfo(select_timezone())


def _today():
    return utcnow().astimezone(_zone()).date()


def _today_start() -> datetime:
    return utcnow().astimezone(_zone()).replace(hour=0, minute=0, second=0, microsecond=0)


def get_deal_or_404(deal_id: int) -> Deal:
    """The deal, if the current user may see it; 404 otherwise."""
    scope = access.deals_scope(current_user).options(joinedload(Deal.customer),
                                                     joinedload(Deal.owner))
    return access.get_visible_or_404(scope, Deal, deal_id)


def get_editable_deal_or_404(deal_id: int) -> Deal:
    """The deal, if the current user may change it; 403 when they may only look."""
    deal = get_deal_or_404(deal_id)
    if not access.may_edit_deal(current_user, deal):
        abort(403)
    return deal


def _opened_version(field) -> int:
    try:
        return int(field.data)
    except (TypeError, ValueError):
        return -1


# Deals on a customer ---------------------------------------------------------------------

@bp.get("/customers/<int:customer_id>/deals/new")
def new(customer_id: int):
    customer = get_editable_customer_or_404(customer_id)
    return render_page("pipeline/deal_form.html", customer=customer, deal=None,
                       form=DealForm())


@bp.post("/customers/<int:customer_id>/deals")
def create(customer_id: int):
    customer = get_editable_customer_or_404(customer_id)
    form = DealForm()
    if form.validate_on_submit():
        try:
            deal = create_deal(customer, current_user, title=form.title.data,
                               grade=Grade(form.grade.data), stage=Stage(form.stage.data),
                               amount=form.amount.data,
                               expected_close=form.expected_close.data)
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("Deal saved."), "success")
            return redirect_after_post(url_for("pipeline.show", deal_id=deal.id))
    return render_page("pipeline/deal_form.html", customer=customer, deal=None, form=form,
                       status=form_error_status())


@bp.get("/deals/<int:deal_id>")
def show(deal_id: int):
    deal = get_deal_or_404(deal_id)
    events = db.session.scalars(
        select(DealEvent).where(DealEvent.deal_id == deal.id)
        .options(joinedload(DealEvent.by_user))
        .order_by(DealEvent.at.desc(), DealEvent.id.desc()).limit(100)).all()
    reviews = db.session.scalars(
        select(DealReview).where(DealReview.deal_id == deal.id)
        .options(joinedload(DealReview.reviewer))
        .order_by(DealReview.at.desc(), DealReview.id.desc()).limit(20)).all()
    return render_page("pipeline/show.html", deal=deal, events=events, reviews=reviews,
                       may_edit=access.may_edit_deal(current_user, deal),
                       move_form=MoveForm(stage=deal.stage.value, version=deal.version,
                                          back=url_for("pipeline.show", deal_id=deal.id)))


def _edit_form(deal: Deal, formdata=None) -> DealForm:
    if formdata is not None:
        return DealForm(formdata=formdata)
    return DealForm(data={"title": deal.title, "grade": deal.grade.value,
                          "stage": deal.stage.value, "amount": deal.amount,
                          "expected_close": deal.expected_close, "reason": deal.lost_reason,
                          "version": deal.version})


@bp.get("/deals/<int:deal_id>/edit")
def edit(deal_id: int):
    deal = get_editable_deal_or_404(deal_id)
    return render_page("pipeline/deal_form.html", customer=deal.customer, deal=deal,
                       form=_edit_form(deal))


@bp.post("/deals/<int:deal_id>")
def update(deal_id: int):
    deal = get_editable_deal_or_404(deal_id)
    form = _edit_form(deal, request.form)
    stale = False
    if form.validate_on_submit():
        try:
            update_deal(deal, current_user, _opened_version(form.version),
                        title=form.title.data, grade=Grade(form.grade.data),
                        stage=Stage(form.stage.data), amount=form.amount.data,
                        expected_close=form.expected_close.data, reason=form.reason.data)
            db.session.commit()
        except (StaleEdit, StaleDataError):
            db.session.rollback()
            deal = get_deal_or_404(deal_id)
            stale = True
            form.form_errors.append(StaleEdit().message)
            form.version.data = deal.version
        except DomainError as error:
            db.session.rollback()
            deal = get_deal_or_404(deal_id)
            show_domain_error(form, error)
        else:
            flash(_("Deal saved."), "success")
            return redirect_after_post(url_for("pipeline.show", deal_id=deal_id))
    status = form_error_status()
    return render_page("pipeline/deal_form.html", customer=deal.customer, deal=deal,
                       form=form, stale=stale,
                       status=409 if stale and status == 422 else status)


@bp.post("/deals/<int:deal_id>/move")
def move(deal_id: int):
    """The stage control on a card. htmx gets the card back and an event that makes the
    board refresh its columns; a plain form goes back where it came from."""
    deal = get_editable_deal_or_404(deal_id)
    form = MoveForm()
    back = safe_next_url(form.back.data, url_for("pipeline.index"))
    if form.validate_on_submit():
        try:
            move_deal(deal, current_user, Stage(form.stage.data), amount=form.amount.data,
                      reason=form.reason.data, expected_version=_opened_version(form.version))
            db.session.commit()
        except (StaleEdit, StaleDataError):
            db.session.rollback()
            deal = get_deal_or_404(deal_id)
            form.form_errors.append(StaleEdit().message)
        except DomainError as error:
            db.session.rollback()
            deal = get_deal_or_404(deal_id)
            show_domain_error(form, error)
        else:
            if is_fragment_request():
                response = render_page("pipeline/move.html", "pipeline/_deal_card.html",
                                       deal=deal, plans={}, back=back)
                response.headers["HX-Trigger"] = "dealMoved"
                return response
            flash(_("%(title)s moved to %(stage)s.", title=deal.title,
                    stage=STAGE_LABELS[deal.stage]), "success")
            return redirect_after_post(back)
    form.version.data = deal.version
    return render_page("pipeline/move.html", "pipeline/_deal_card.html", deal=deal, plans={},
                       back=back, move_form=form, status=form_error_status())


@bp.post("/deals/<int:deal_id>/review")
def review(deal_id: int):
    deal = get_deal_or_404(deal_id)
    if not access.may_review_deals(current_user, deal.owner):
        abort(403)
    form = ReviewForm()
    back = safe_next_url(form.back.data, url_for("pipeline.sheet", rep=deal.owner_id))
    if form.validate_on_submit():
        review_deal(deal, current_user, form.note.data)
        db.session.commit()
        flash(_("Marked as reviewed."), "success")
    else:
        errors = [str(e) for field in form for e in field.errors]
        flash(errors[0] if errors else _("The form has expired; try again."), "error")
    return redirect_after_post(f"{back}#deal-{deal.id}")


# The board -------------------------------------------------------------------------------

def _filter_choices() -> dict:
    people = db.session.scalars(access.assignable_users(current_user)) \
        if current_user.role != Role.REP else []
    teams = db.session.scalars(access.teams_scope(current_user).order_by(Team.path)) \
        if current_user.role != Role.REP else []
    return {"people": list(people), "teams": list(teams), "grades": list(Grade)}


@bp.get("/pipeline")
def index():
    filters = board_module.BoardFilters.from_args(request.args)
    columns = board_module.board_columns(current_user, filters)
    context = {"columns": columns, "filters": filters,
               "plans": board_module.plans_for(columns), "back": request.full_path}
    if is_fragment_request():
        return render_page("pipeline/index.html", "pipeline/_board.html", **context)
    return render_page("pipeline/index.html", **_filter_choices(), **context)


# The review sheet ------------------------------------------------------------------------

def _sheet_rep() -> User:
    """Whose sheet: a rep only ever their own; others any rep they may see (404 if not)."""
    if current_user.role == Role.REP:
        wanted = request.args.get("rep", "")
        if wanted and wanted != str(current_user.id):
            abort(404)
        return current_user._get_current_object()
    rep_id = request.args.get("rep", "")
    team_id = request.args.get("team", "")
    scope = access.users_scope(current_user).where(User.role.in_((Role.REP, Role.MANAGER)))
    if rep_id.isdigit():
        return access.get_visible_or_404(scope, User, int(rep_id))
    if team_id.isdigit():
        team = access.get_visible_or_404(access.teams_scope(current_user), Team, int(team_id))
        first = db.session.scalars(scope.where(User.team_id == team.id, User.role == Role.REP,
                                               User.active.is_(True))
                                   .order_by(User.name, User.id)).first()
        if first is not None:
            return first
    active_reps = scope.where(User.role == Role.REP, User.active.is_(True))
    if current_user.role == Role.MANAGER:
        # The nightly review starts with the first rep of the manager's own team.
        own = db.session.scalars(active_reps.where(User.team_id == current_user.team_id)
                                 .order_by(User.name, User.id)).first()
        if own is not None:
            return own
    first = db.session.scalars(active_reps.order_by(User.name, User.id)).first()
    return first or current_user._get_current_object()


@bp.get("/pipeline/sheet")
def sheet():
    rep = _sheet_rep()
    rows = sheet_rows(rep.id, today_start=_today_start())
    may_review = access.may_review_deals(current_user, rep)
    walk = reps_alongside(rep) if current_user.role != Role.REP else []
    place = next((i for i, r in enumerate(walk) if r.id == rep.id), None)
    previous_rep = walk[place - 1] if place is not None and place > 0 else None
    next_rep = walk[place + 1] if place is not None and place + 1 < len(walk) else None
    pickable = list(db.session.scalars(access.assignable_users(current_user))) \
        if current_user.role != Role.REP else []
    return render_page("pipeline/sheet.html", rep=rep, rows=rows, may_review=may_review,
                       previous_rep=previous_rep, next_rep=next_rep, pickable=pickable,
                       projector=request.args.get("view") == "projector",
                       review_form=ReviewForm(), back=request.full_path.rstrip("?"))


@bp.get("/pipeline/a-deals")
def a_deals():
    """A team's A-grade deals on one page, with last contact and next step."""
    team_id = request.args.get("team", "")
    team = None
    if team_id.isdigit():
        team = access.get_visible_or_404(access.teams_scope(current_user), Team, int(team_id))
    elif current_user.team_id and current_user.role != Role.REP:
        team = current_user.team
    filters = board_module.BoardFilters(team_id=team.id if team else None, grade=Grade.A)
    query = (board_module.filtered_deals(current_user, filters)
             .where(Deal.stage.in_(OPEN_STAGES))
             .options(joinedload(Deal.customer), joinedload(Deal.owner))
             .order_by(Deal.expected_close.is_(None), Deal.expected_close, Deal.id).limit(300))
    deals = db.session.scalars(query).all()
    from crm.customers.models import Customer

    plans = latest_follow_ups(
        select(Customer.id).where(Customer.id.in_({d.customer_id for d in deals})))
    teams = list(db.session.scalars(access.teams_scope(current_user).order_by(Team.path))) \
        if current_user.role != Role.REP else []
    return render_page("pipeline/a_deals.html", deals=deals, plans=plans, team=team,
                       teams=teams)
