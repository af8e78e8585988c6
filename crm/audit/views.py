"""The audit trail, read-only (admins): filter by person, customer, action and dates; CSV.

No route changes or deletes an audit event; only the retention sweep removes old ones.
"""

import csv
import io
from datetime import datetime, time, timedelta

from flask import Blueprint, Response, request, stream_with_context
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm import access
from crm.accounts.models import User
from crm.audit.labels import ACTION_LABELS
from crm.audit.models import AuditAction, AuditEvent
from crm.clock import from_local, utcnow
from crm.extensions import db
from crm.forms import choices
from crm.htmx import render_page
from crm.pagination import keyset_page
from crm.privacy.forms import AuditFilterForm

bp = Blueprint("audit", __name__, url_prefix="/admin")

CSV_LIMIT = 100_000  # rows in one CSV; narrow the filters for more


@bp.before_request
@login_required
def _signed_in_only():
    return None


def _filters() -> AuditFilterForm:
    form = AuditFilterForm(request.args)
    form.validate()  # invalid values are ignored below, never an error page
    people = db.session.scalars(select(User).order_by(User.name, User.id)).all()
    form.actor.choices = choices([("", "—")] + [(u.id, f"{u.name} ({u.email})")
                                                 for u in people])
    return form


def _valid(field):
    return field.data if not field.errors else None


def filtered_events(form: AuditFilterForm):
    query = select(AuditEvent).options(joinedload(AuditEvent.actor))
    actor = _valid(form.actor)
    if isinstance(actor, int):
        query = query.where(AuditEvent.actor_id == actor)
    customer = _valid(form.customer)
    if customer:
        query = query.where(AuditEvent.customer_id == customer)
    if form.action.data in set(AuditAction):
        query = query.where(AuditEvent.action == AuditAction(form.action.data))
    since, until = _valid(form.since), _valid(form.until)
    if since:
        query = query.where(AuditEvent.at >= _local_start(since))
    if until:
        query = query.where(AuditEvent.at < _local_start(until) + timedelta(days=1))
    return query


def _local_start(day) -> datetime:
    try:
        return from_local(datetime.combine(day, time()))
    except (OverflowError, ValueError):
        return utcnow()


@bp.get("/audit")
@access.requires(access.may_read_audit_trail)
def index():
    form = _filters()
    page = keyset_page(filtered_events(form), [AuditEvent.at.desc(), AuditEvent.id.desc()],
                       request.args.get("after"), limit=100)
    return render_page("audit/index.html", "audit/_rows.html", form=form, page=page,
                       labels=ACTION_LABELS, csv_args={k: v for k, v in request.args.items()
                                                       if k != "after"})


def describe(event: AuditEvent) -> str:
    """The detail as plain text: field names, counts, filters, never personal data."""
    return "; ".join(f"{key}={value}" for key, value in sorted((event.detail or {}).items()))


@bp.get("/audit.csv")
@access.requires(access.may_read_audit_trail)
def export_csv():
    form = _filters()
    query = (filtered_events(form).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
             .limit(CSV_LIMIT))
    rows = [(e.at.isoformat(), e.actor.email if e.actor else "", e.action.value,
             e.customer_id or "", describe(e)) for e in db.session.scalars(query)]

    def chunks():
        out = io.StringIO()
        writer = csv.writer(out)
        out.write("\ufeff")
        writer.writerow(["at_utc", "actor", "action", "customer_id", "detail"])
        for row in rows:
            writer.writerow([_safe(value) for value in row])
            if out.tell() > 64_000:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    response = Response(stream_with_context(chunks()), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="audit-{utcnow():%Y%m%d-%H%M}.csv"')
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe(value):
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


@bp.app_template_filter("audit_detail")
def _audit_detail(event):
    return describe(event)

