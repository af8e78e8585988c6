"""Check in at the customer (from the log form), check out, and a person's day of check-ins."""

from datetime import date, datetime, time, timedelta

from flask import Blueprint, flash, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from crm import access, clock
from crm.accounts.models import User
from crm.checkins.checking import (
    POOR_ACCURACY_METRES,
    check_in,
    check_out,
    day_of,
    far_metres,
)
from crm.errors import DomainError
from crm.extensions import db
from crm.htmx import redirect_after_post, render_page, wants_json
from crm.params import int_arg

bp = Blueprint("checkins", __name__)


@bp.app_context_processor
def _helpers():
    # The log form offers to save the position when the customer has none.
    def customer_has_location(customer_id: int) -> bool:
        from crm.checkins.models import CustomerLocation

        return db.session.get(CustomerLocation, customer_id) is not None

    return {"customer_has_location": customer_has_location}


@bp.before_request
@login_required
def _signed_in_only():
    return None


def _number(name: str) -> float | None:
    try:
        value = float(request.form.get(name, ""))
    except ValueError:
        return None
    return value if value == value else None  # NaN is not a number here


def _said(entry) -> str:
    if entry.distance_m is None:
        where = _("No saved location for this customer yet.")
    else:
        where = _("%(metres)d m from the customer.", metres=round(entry.distance_m))
    flags = []
    if entry.far:
        flags.append(_("Far from the customer."))
    if entry.inaccurate:
        flags.append(_("The position is not precise."))
    return " ".join([_("Checked in."), where, *flags])


@bp.post("/customers/<int:customer_id>/check-ins")
def create(customer_id: int):
    customer = access.customer_or_404(current_user, customer_id, to_edit=True)
    back = url_for("followups.new", customer_id=customer.id)
    latitude, longitude = _number("latitude"), _number("longitude")
    if latitude is None or longitude is None:
        message = _("The position is not available: check in again, or log the visit without.")
        if wants_json():
            return jsonify(ok=False, error=message), 422
        flash(message, "error")
        return redirect_after_post(back)
    try:
        entry = check_in(customer, current_user, latitude, longitude, _number("accuracy"),
                         set_location=request.form.get("set_location") == "y")
    except DomainError as error:
        db.session.rollback()
        if wants_json():
            return jsonify(ok=False, error=str(error.message)), 422
        flash(str(error.message), "error")
        return redirect_after_post(back)
    db.session.commit()
    if wants_json():
        return jsonify(ok=True, id=entry.id, distance=entry.distance_m, far=entry.far,
                       inaccurate=entry.inaccurate, message=_said(entry),
                       check_out=url_for("checkins.check_out_view", check_in_id=entry.id)), 201
    flash(_said(entry), "success")
    return redirect_after_post(back)


@bp.post("/check-ins/<int:check_in_id>/check-out")
def check_out_view(check_in_id: int):
    entry = access.own_check_in_or_404(current_user, check_in_id)
    check_out(entry)
    db.session.commit()
    message = _("Checked out after %(minutes)d minutes.", minutes=entry.minutes)
    if wants_json():
        return jsonify(ok=True, minutes=entry.minutes, message=message)
    flash(message, "success")
    return redirect_after_post(url_for("customers.show", customer_id=entry.customer_id))


def _day_arg() -> date:
    try:
        return date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return clock.local_today()


@bp.get("/check-ins")
def index():
    """A person's day of check-ins with flags: one's own, or (managers) a person they lead."""
    person_id = int_arg(request.args, "person") or current_user.id
    person = access.check_in_person_or_404(current_user, person_id)
    day = _day_arg()
    start = clock.from_local(datetime.combine(day, time()))
    entries = day_of(person.id, start, start + timedelta(days=1))
    people = db.session.scalars(select(User).where(
        User.id.in_(access.led_people(current_user))).order_by(User.name)).all()
    return render_page("checkins/index.html", person=person, day=day, entries=entries,
                       people=people, far_metres=far_metres(person),
                       poor_accuracy_metres=POOR_ACCURACY_METRES,
                       previous_day=day - timedelta(days=1), next_day=day + timedelta(days=1))
