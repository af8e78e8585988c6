"""Logging follow-ups from the card or Today, my follow-ups, and ride-alongs."""

import secrets

from flask import Blueprint, flash, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from crm import access, clock
from crm.checkins.checking import link_to_visit
from crm.checkins.models import check_ins_as_shown
from crm.customers.listing import ListParams, customer_query
from crm.customers.models import Customer
from crm.extensions import db
from crm.followups.forms import CompanionNotesForm, FollowUpForm
from crm.followups.logging import add_companion_notes, already_logged, log_follow_up
from crm.followups.models import KIND_LABELS, Companion, FollowUp, FollowUpKind
from crm.forms import choices
from crm.htmx import redirect_after_post, render_page, wants_json
from crm.recordings.forms import RecordingForm, max_recording_mb
from crm.recordings.models import recordings_as_shown
from crm.saving import run_change, save_form, saved_and_go

bp = Blueprint("followups", __name__)


@bp.before_request
@login_required
def _signed_in_only():
    return None


@bp.app_context_processor
def _labels():
    # The card's timeline and the recording pages show follow-ups too.
    return {"follow_up_kinds": KIND_LABELS}


def _form(**kwargs) -> FollowUpForm:
    form = FollowUpForm(**kwargs)
    colleagues = db.session.scalars(
        access.assignable_users(current_user, exclude_id=current_user.id)).all()
    form.companions.choices = choices((u.id, u.name) for u in colleagues)
    form.allowed_companions = {u.id: u for u in colleagues}
    return form


@bp.get("/customers/<int:customer_id>/follow-ups/new")
def new(customer_id: int):
    customer = access.customer_or_404(current_user, customer_id, to_edit=True)
    kind = request.args.get("kind") if request.args.get("kind") in set(FollowUpKind) else "visit"
    return _log_page(customer, _form(kind=kind, occurred_at=clock.local_wall_clock(),
                                     submission_key=secrets.token_urlsafe(24)))


def _log_page(customer, form: FollowUpForm, status: int = 200):
    return render_page("followups/new.html", customer=customer, form=form,
                       recording_form=RecordingForm(formdata=None, meta={"csrf": False}),
                       max_mb=max_recording_mb(),
                       status=status)


@bp.post("/customers/<int:customer_id>/follow-ups")
def create(customer_id: int):
    customer = access.customer_or_404(current_user, customer_id, to_edit=True)
    form = _form()
    if form.is_submitted() and form.submission_key.data:
        earlier = already_logged(current_user, form.submission_key.data)
        if earlier is not None:  # the same form sent again (a retry on a weak network)
            return _logged(customer, earlier, first_time=False)

    def log():
        follow_up = log_follow_up(
            customer, current_user, kind=FollowUpKind(form.kind.data),
            occurred_at=clock.from_local(form.occurred_at.data), summary=form.summary.data,
            companions=[form.allowed_companions[i] for i in form.companions.data
                        if i in form.allowed_companions],
            location=form.location.data or None, latitude=form.latitude.data,
            longitude=form.longitude.data, outcome=form.outcome.data or None,
            next_step=form.next_step.data or None, next_date=form.next_date.data,
            submission_key=form.submission_key.data or None)
        link_to_visit(follow_up)  # the check-in made at the customer, if any
        return follow_up

    return save_form(form, log, page=lambda status: _log_page(customer, form, status=status),
                     done=lambda follow_up: _logged(customer, follow_up))


def _logged(customer, follow_up: FollowUp, first_time: bool = True):
    done_url = url_for("customers.show", customer_id=customer.id) + f"#follow-up-{follow_up.id}"
    if wants_json():
        # The page's script sends the audio next, by its own request.
        return jsonify(ok=True, upload_url=url_for("recordings.upload",
                                                   follow_up_id=follow_up.id),
                       uploads=url_for("uploads.create", follow_up_id=follow_up.id),
                       redirect=done_url), 201
    if first_time and follow_up.kind == FollowUpKind.REVISIT:
        # After-sales: the moment to ask how satisfied the customer is (the card's survey).
        flash(_("Revisit saved. Ask the customer how satisfied they are: the survey is below."),
              "success")
        done_url = (url_for("customers.show", customer_id=customer.id, survey="revisit")
                    + "#voice")
    elif first_time:
        flash(_("Follow-up saved."), "success")
    if request.form.get("then") == "recording":
        return redirect_after_post(url_for("recordings.new", follow_up_id=follow_up.id))
    return redirect_after_post(done_url)


@bp.get("/follow-ups/new")
def pick_customer():
    """From Today: find the customer, then log. Searches the user's own customers."""
    params = ListParams.from_args({"tab": "mine", "q": request.args.get("q", "")},
                                  current_user)
    customers = db.session.scalars(
        customer_query(current_user, params)
        .order_by(Customer.last_contact_at.desc().nulls_last(), Customer.id.desc())
        .limit(20)).all()
    # From Today's "Visit with recording": the form opens with the recorder running.
    record = request.args.get("record") == "1"
    return render_page("followups/pick.html", "followups/_pick_rows.html",
                       customers=customers, q=params.q, record=record)


@bp.get("/follow-ups")
def index():
    """My follow-ups: today, and the rest of the last seven days."""
    rows = db.session.scalars(
        select(FollowUp).where(FollowUp.author_id == current_user.id,
                               FollowUp.occurred_at >= clock.local_midnight(days_ago=6))
        .options(joinedload(FollowUp.customer), selectinload(FollowUp.companions)
                 .joinedload(Companion.user), recordings_as_shown(), check_ins_as_shown())
        .order_by(FollowUp.occurred_at.desc()).limit(200)).all()
    today_start = clock.local_midnight()
    return render_page("followups/index.html",
                       today=[f for f in rows if f.occurred_at >= today_start],
                       earlier=[f for f in rows if f.occurred_at < today_start])


@bp.get("/follow-ups/ride-alongs")
def ride_alongs():
    rows = db.session.scalars(
        select(FollowUp).join(Companion).where(Companion.user_id == current_user.id)
        .options(joinedload(FollowUp.customer), joinedload(FollowUp.author),
                 selectinload(FollowUp.companions).joinedload(Companion.user),
                 recordings_as_shown(), check_ins_as_shown())
        .order_by(FollowUp.occurred_at.desc()).limit(100)).all()
    return render_page("followups/ride_alongs.html", follow_ups=rows,
                       notes_form=CompanionNotesForm())


@bp.post("/follow-ups/<int:follow_up_id>/companion-notes")
def companion_notes(follow_up_id: int):
    follow_up = access.ride_along_or_404(current_user, follow_up_id)
    form = CompanionNotesForm()
    back = url_for("followups.ride_alongs") + f"#follow-up-{follow_up.id}"
    if not form.validate_on_submit():
        flash(_("Write your notes first."), "error")
        return redirect_after_post(back)
    return run_change(lambda: add_companion_notes(follow_up, current_user, form.notes.data),
                      done=lambda _result: saved_and_go(back, _("Your notes are saved.")),
                      refused_url=back)
