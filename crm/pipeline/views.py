"""Deals on the customer card, the deal page, the board, the review sheet and A deals."""

import functools

from flask import Blueprint, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm import access, clock
from crm.accounts.models import Team, User
from crm.clock import utcnow
from crm.extensions import db
from crm.htmx import is_fragment_request, redirect_after_post, render_page
from crm.navigation import safe_next_url, url_maker
from crm.params import int_arg
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
from crm.pipeline.sheet import (
    reps_alongside,
    reviewed_since,
    sheet_rows,
    since_yesterday,
    summarise,
)
from crm.saving import save_form, saved_and_go

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
              "never": _l("Never contacted"),
              "today": _l("Contacted today"), "cancel": _l("Cancel")}


@bp.context_processor
def _labels():
    return {"stage_labels": STAGE_LABELS, "grade_labels": GRADE_LABELS,
            "board_stages": BOARD_STAGES, "today": clock.local_today(), "now": utcnow(),
            "zone": clock.user_zone(),
            "stage_names": {stage: str(label) for stage, label in STAGE_LABELS.items()},
            "grade_names": {grade: str(label) for grade, label in GRADE_LABELS.items()},
            "card_words": {key: str(word) for key, word in CARD_WORDS.items()},
            **_card_helpers()}


def _card_helpers() -> dict:
    """What every card of a board computes, made once per page: links filled in from one
    routing, and phrases and dates formatted once per distinct value (a board of 175 cards
    has a few dozen distinct day counts and dates)."""
    @functools.cache
    def days_ago(days: int) -> str:
        return ngettext("Contacted %(num)d day ago", "Contacted %(num)d days ago", days)

    @functools.cache
    def days_overdue(days: int) -> str:
        return ngettext("%(num)d day overdue", "%(num)d days overdue", days)

    @functools.cache
    def next_on(day) -> str:
        return _("Next: %(date)s", date=current_app.jinja_env.filters["date"](day, "short"))

    return {"deal_url": url_maker("pipeline.show", "deal_id"),
            "move_url": url_maker("pipeline.move", "deal_id"),
            "customer_url": url_maker("customers.show", "customer_id"),
            "review_url": url_maker("pipeline.review", "deal_id"),
            "days_ago": days_ago, "days_overdue": days_overdue, "next_on": next_on}


# Deals on a customer ---------------------------------------------------------------------

@bp.get("/customers/<int:customer_id>/deals/new")
def new(customer_id: int):
    customer = access.customer_or_404(current_user, customer_id, to_edit=True)
    return render_page("pipeline/deal_form.html", customer=customer, deal=None,
                       form=DealForm())


@bp.post("/customers/<int:customer_id>/deals")
def create(customer_id: int):
    customer = access.customer_or_404(current_user, customer_id, to_edit=True)
    form = DealForm()
    return save_form(
        form, lambda: create_deal(customer, current_user, title=form.title.data,
                                  grade=Grade(form.grade.data), stage=Stage(form.stage.data),
                                  amount=form.amount.data,
                                  expected_close=form.expected_close.data),
        page=lambda status: render_page("pipeline/deal_form.html", customer=customer,
                                        deal=None, form=form, status=status),
        done=lambda deal: saved_and_go(url_for("pipeline.show", deal_id=deal.id),
                                       _("Deal saved.")))


@bp.get("/deals/<int:deal_id>")
def show(deal_id: int):
    deal = access.deal_or_404(current_user, deal_id)
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
    deal = access.deal_or_404(current_user, deal_id, to_edit=True)
    return render_page("pipeline/deal_form.html", customer=deal.customer, deal=deal,
                       form=_edit_form(deal))


@bp.post("/deals/<int:deal_id>")
def update(deal_id: int):
    deal = access.deal_or_404(current_user, deal_id, to_edit=True)
    form = _edit_form(deal, request.form)
    return save_form(
        form, lambda: update_deal(deal, current_user, form.opened_version(),
                                  title=form.title.data, grade=Grade(form.grade.data),
                                  stage=Stage(form.stage.data), amount=form.amount.data,
                                  expected_close=form.expected_close.data,
                                  reason=form.reason.data),
        page=lambda status, stale=False: render_page(
            "pipeline/deal_form.html", customer=deal.customer, deal=deal, form=form,
            stale=stale, status=status),
        saved=deal,
        done=lambda _result: saved_and_go(url_for("pipeline.show", deal_id=deal_id),
                                          _("Deal saved.")))


@bp.post("/deals/<int:deal_id>/move")
def move(deal_id: int):
    """The stage control on a card. htmx gets the card back and an event that makes the
    board refresh its columns; a plain form goes back where it came from."""
    deal = access.deal_or_404(current_user, deal_id, to_edit=True)
    form = MoveForm()
    back = safe_next_url(form.back.data, url_for("pipeline.index"))
    moved_from = deal.stage

    def page(status, stale=False):
        # The card is shown as saved now, so the next try starts from it.
        form.version.data = deal.version
        return render_page("pipeline/move.html", "pipeline/_deal_card.html", deal=deal,
                           back=back, move_form=form, status=status)

    def moved(_result):
        if is_fragment_request():
            # The card leaves the column on screen: say where it went, with an undo.
            response = render_page("pipeline/move.html", "pipeline/_moved.html",
                                   deal=deal, back=back, moved_from=moved_from)
            response.headers["HX-Trigger"] = "dealMoved"
            return response
        return saved_and_go(back, _("%(title)s moved to %(stage)s.", title=deal.title,
                                    stage=STAGE_LABELS[deal.stage]))

    return save_form(
        form, lambda: move_deal(deal, current_user, Stage(form.stage.data),
                                amount=form.amount.data, reason=form.reason.data,
                                expected_version=form.opened_version()),
        page=page, done=moved)


@bp.post("/deals/<int:deal_id>/review")
def review(deal_id: int):
    deal = access.deal_or_404(current_user, deal_id, to_review=True)
    # The sheet sends every row's note in one shared form, each named for its deal.
    formdata = request.form.copy()
    if f"note-{deal.id}" in formdata:
        formdata["note"] = formdata[f"note-{deal.id}"]
    form = ReviewForm(formdata=formdata)
    back = safe_next_url(form.back.data, url_for("pipeline.sheet", rep=deal.owner_id))
    back = f"{back}#deal-{deal.id}"

    def refused(status):
        errors = [str(e) for e in form.form_errors] + [
            str(e) for field in form for e in field.errors]
        flash(errors[0] if errors else _("The form has expired; try again."), "error")
        return redirect_after_post(back)

    return save_form(form, lambda: review_deal(deal, current_user, form.note.data),
                     page=refused,
                     done=lambda _result: saved_and_go(back, _("Marked as reviewed.")))


# The board -------------------------------------------------------------------------------

def _filter_choices() -> dict:
    return {"people": _visible_people(), "teams": _visible_teams(), "grades": list(Grade)}


def _visible_people() -> list[User]:
    if not access.looks_across_people(current_user):
        return []
    return list(db.session.scalars(access.assignable_users(current_user)))


def _visible_teams() -> list[Team]:
    if not access.looks_across_people(current_user):
        return []
    return list(db.session.scalars(access.teams_scope(current_user).order_by(Team.path)))


@bp.get("/pipeline")
def index():
    filters = board_module.BoardFilters.from_args(request.args)
    columns = board_module.board_columns(current_user, filters)
    context = {"columns": columns, "filters": filters,
               "next_dates": board_module.next_dates_for(columns), "back": request.full_path}
    if is_fragment_request():
        return render_page("pipeline/index.html", "pipeline/_board.html", **context)
    return render_page("pipeline/index.html", **_filter_choices(), **context)


# The review sheet ------------------------------------------------------------------------

# Deals per page of the sheet: a rep with hundreds of open deals is walked fifty at a time.
SHEET_PAGE = 50

def _number(name: str) -> int | None:
    return int_arg(request.args, name)


def _sheet_rep() -> User:
    """Whose sheet: a rep only ever their own; others any rep they may see (404 if not),
    or, unnamed, the first rep of the team asked for or of their own team."""
    named = access.sheet_rep_or_404(current_user, _number("rep"))
    if named is not None:
        return named
    active_reps = access.reps_only(access.people_at_work(current_user)) \
        .where(User.active.is_(True)).order_by(User.name, User.id)
    team_id = _number("team")
    if team_id is not None:
        team = access.team_or_404(current_user, team_id)
        first = db.session.scalars(active_reps.where(User.team_id == team.id)).first()
        if first is not None:
            return first
    if current_user.team_id is not None:
        # The nightly review starts with the first rep of the manager's own team.
        own = db.session.scalars(active_reps.where(User.team_id == current_user.team_id)).first()
        if own is not None:
            return own
    return db.session.scalars(active_reps).first() or current_user._get_current_object()


@bp.get("/pipeline/sheet")
def sheet():
    rep = _sheet_rep()
    today_start = clock.local_midnight()
    every_row = sheet_rows(rep.id, today_start=today_start)
    # Pages of SHEET_PAGE deals in the sheet's order (A first): the summary counts them all.
    pages = max(1, -(-len(every_row) // SHEET_PAGE))
    page = min(_number("page") or 1, pages)
    rows = every_row[(page - 1) * SHEET_PAGE:page * SHEET_PAGE]
    may_review = access.may_review_deals(current_user, rep)
    walk = reps_alongside(rep) if access.looks_across_people(current_user) else []
    place = next((i for i, r in enumerate(walk) if r.id == rep.id), None)
    previous_rep = walk[place - 1] if place is not None and place > 0 else None
    next_rep = walk[place + 1] if place is not None and place + 1 < len(walk) else None
    pickable = _visible_people()
    return render_page("pipeline/sheet.html", rep=rep, rows=rows, may_review=may_review,
                       page=page, pages=pages, first=(page - 1) * SHEET_PAGE + 1,
                       summary=summarise(every_row, today=today_start.date(),
                                         today_start=today_start),
                       reviewed_since=reviewed_since, today_start=today_start,
                       activity=since_yesterday(rep),
                       previous_rep=previous_rep, next_rep=next_rep, pickable=pickable,
                       projector=request.args.get("view") == "projector",
                       review_form=ReviewForm(), back=request.full_path.rstrip("?"))


@bp.get("/pipeline/a-deals")
def a_deals():
    """A team's A-grade deals on one page, with last contact and next step."""
    team_id = _number("team")
    team = None
    if team_id is not None:
        team = access.team_or_404(current_user, team_id)
    elif current_user.team_id and access.looks_across_people(current_user):
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
    teams = _visible_teams()
    return render_page("pipeline/a_deals.html", deals=deals, plans=plans, team=team,
                       teams=teams)
