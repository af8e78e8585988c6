"""Data subjects' requests: the register, a customer's data as a ZIP, erasure, legal holds,
consent withdrawal; and the retention settings.

URL map:
  GET  /admin/data-requests                         the register (office, admin)
  GET  /admin/data-requests/new, POST /admin/data-requests
  GET  /admin/data-requests/<id>, POST …/<id>       a request: status, handler, outcome
  POST …/<id>/export, GET …/<id>/exports            make a ZIP (worker); its status, polled
  GET  /admin/data-exports/<token>                  the ZIP, until the link expires
  POST …/<id>/erase | hold | release-hold           admin only
  POST …/<id>/withdraw-consent                      office, admin
  POST …/<id>/delete-recordings                     admin only, after consent is withdrawn
  GET, POST /admin/retention                        admin only
"""

from flask import Blueprint, abort, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from crm import access
from crm.accounts.models import User
from crm.audit.log import record
from crm.audit.models import AuditAction
from crm.clock import local_today
from crm.errors import DomainError
from crm.extensions import db
from crm.forms import choices
from crm.htmx import render_page
from crm.privacy import erasure, retention
from crm.privacy import export as export_module
from crm.privacy import requests as register
from crm.privacy.forms import (
    DataRequestForm,
    DataRequestUpdateForm,
    EraseForm,
    HoldForm,
    RetentionForm,
)
from crm.privacy.models import (
    CLOSED_STATUSES,
    REQUEST_KIND_LABELS,
    REQUEST_STATUS_LABELS,
    DataExport,
    DataRequest,
    ExportStatus,
    RequestKind,
    RequestStatus,
)
from crm.queue import enqueue_after_commit
from crm.saving import run_change, save_form, saved_and_go

bp = Blueprint("privacy", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _signed_in_only():
    return None


@bp.app_context_processor
def _labels():
    return {"request_kind_labels": REQUEST_KIND_LABELS,
            "request_status_labels": REQUEST_STATUS_LABELS}


def _handlers():
    return db.session.scalars(
        select(User).where(User.active.is_(True)).order_by(User.name, User.id)
        .where(User.id.in_(select(User.id).where(User.role.in_(access.SEES_EVERY_TEAM))))).all()


# The register ----------------------------------------------------------------------------

@bp.get("/data-requests")
@access.requires(access.may_handle_data_requests)
def index():
    status = request.args.get("status")
    query = select(DataRequest).order_by(DataRequest.status.in_(CLOSED_STATUSES),
                                         DataRequest.due_on, DataRequest.id).limit(300)
    if status in set(RequestStatus):
        query = query.where(DataRequest.status == RequestStatus(status))
    rows = db.session.scalars(query).all()
    customers = {}
    if rows:
        from crm.customers.models import Customer

        ids = {r.customer_id for r in rows if r.customer_id}
        customers = {c.id: c for c in db.session.scalars(
            select(Customer).where(Customer.id.in_(ids)))}
    return render_page("privacy/index.html", rows=rows, customers=customers,
                       chosen=status if status in set(RequestStatus) else "",
                       today=local_today())


@bp.get("/data-requests/new")
@access.requires(access.may_handle_data_requests)
def new():
    form = DataRequestForm(received_on=local_today(),
                           customer_id=request.args.get("customer", type=_customer_number))
    return render_page("privacy/new.html", form=form)


def _customer_number(value):
    from crm.params import int_arg

    number = int_arg({"n": value}, "n")
    if number is None:
        raise ValueError
    return number


@bp.post("/data-requests")
@access.requires(access.may_handle_data_requests)
def create():
    form = DataRequestForm()

    def change():
        customer = _customer_of(form.customer_id.data)
        return register.register_request(
            kind=RequestKind(form.kind.data), customer=customer,
            received_on=form.received_on.data, due_on=form.due_on.data,
            by=current_user._get_current_object())

    return save_form(form, change,
                     done=lambda row: saved_and_go(url_for("privacy.show", request_id=row.id),
                                                   _("The request is registered.")),
                     page=lambda status: render_page("privacy/new.html", form=form,
                                                     status=status))


def _customer_of(customer_id: int):
    from crm.customers.models import Customer

    customer = db.session.scalar(access.customers_scope(current_user)
                                 .where(Customer.id == customer_id))
    if customer is None:
        raise DomainError(_("No customer has this number."), field="customer_id")
    return customer


def _show(row: DataRequest, *, form=None, erase_form=None, hold_form=None, status=200):
    customer = row.customer
    if form is None:
        form = DataRequestUpdateForm(obj=row, formdata=None)
    form.handler_id.choices = choices([("", "—")] + [(u.id, u.name) for u in _handlers()])
    exports = db.session.scalars(select(DataExport).where(DataExport.request_id == row.id)
                                 .order_by(DataExport.id.desc())).all()
    recordings = (len(db.session.scalars(register.customer_recordings(customer.id)).all())
                  if customer else 0)
    return render_page(
        "privacy/show.html", row=row, customer=customer, form=form,
        erase_form=erase_form or EraseForm(formdata=None),
        hold_form=hold_form or HoldForm(formdata=None), exports=exports,
        hold=register.legal_hold_of(customer.id) if customer else None,
        recordings=recordings, status=status)


@bp.get("/data-requests/<int:request_id>")
def show(request_id: int):
    return _show(access.data_request_or_404(current_user, request_id))


@bp.post("/data-requests/<int:request_id>")
def update(request_id: int):
    row = access.data_request_or_404(current_user, request_id)
    form = DataRequestUpdateForm()
    form.handler_id.choices = choices([("", "—")] + [(u.id, u.name) for u in _handlers()])

    def change():
        handler = None
        if form.handler_id.data:
            handler = next((u for u in _handlers() if u.id == form.handler_id.data), None)
            if handler is None:
                raise DomainError(_("Choose someone from the list."), field="handler_id")
        register.update_request(row, form.opened_version(),
                                status=RequestStatus(form.status.data), handler=handler,
                                outcome=form.outcome.data, by=current_user)

    return save_form(form, change, saved=row,
                     done=lambda _r: saved_and_go(url_for("privacy.show", request_id=row.id),
                                                  _("Saved.")),
                     page=lambda status, **_k: _show(row, form=form, status=status))


def _needs_customer(row: DataRequest):
    if row.customer is None:
        abort(404)
    return row.customer


# A customer's data as a ZIP ---------------------------------------------------------------

@bp.post("/data-requests/<int:request_id>/export")
def export(request_id: int):
    row = access.data_request_or_404(current_user, request_id)
    customer = _needs_customer(row)

    def change():
        if customer.erased_at is not None:
            raise DomainError(_("This customer's data has already been erased."))
        made = export_module.request_export(customer, current_user, row)
        enqueue_after_commit("crm.privacy.jobs.build_data_export", made.id)
        return made

    return run_change(change, refused_url=url_for("privacy.show", request_id=row.id),
                      done=lambda _e: saved_and_go(
                          url_for("privacy.show", request_id=row.id) + "#exports",
                          _("The export is being prepared. Its link appears here when it "
                            "is ready.")))


@bp.get("/data-requests/<int:request_id>/exports")
def exports(request_id: int):
    """The exports' status, polled by the page while one is being prepared."""
    row = access.data_request_or_404(current_user, request_id)
    items = db.session.scalars(select(DataExport).where(DataExport.request_id == row.id)
                               .order_by(DataExport.id.desc())).all()
    return render_page("privacy/exports.html", "privacy/_exports.html", row=row,
                       exports=items)


@bp.get("/data-exports/<token>")
def download(token: str):
    export = access.data_export_or_404(current_user, token)
    path = export_module.file_of(export)
    if not path.exists():
        abort(404)
    record(AuditAction.DATA_EXPORT, current_user.id, export.customer_id, export=export.id,
           step="downloaded")
    db.session.commit()
    response = send_file(path, mimetype="application/zip", as_attachment=True,
                         download_name=f"customer-{export.customer_id}.zip")
    response.headers["Cache-Control"] = "no-store"
    return response


# Erasure, legal holds, consent -------------------------------------------------------------

@bp.post("/data-requests/<int:request_id>/erase")
@access.requires(access.may_erase)
def erase(request_id: int):
    row = access.data_request_or_404(current_user, request_id)
    customer = _needs_customer(row)
    form = EraseForm()
    released: set = set()

    def change():
        if (form.confirm.data or "").strip() != str(customer.id):
            raise DomainError(_("Type the customer number exactly to confirm."),
                              field="confirm")
        released.update(erasure.erase_customer(customer, current_user, form.reason.data))

    def done(_result):
        # Files go only once the database no longer refers to them.
        erasure.delete_unreferenced_audio(released)
        erasure.delete_export_files(customer.id)
        erasure.compact_sqlite()
        return saved_and_go(url_for("privacy.show", request_id=row.id),
                            _("The customer's data is erased."))

    return save_form(form, change, done=done,
                     page=lambda status, **_k: _show(row, erase_form=form, status=status))


@bp.post("/data-requests/<int:request_id>/hold")
@access.requires(access.may_erase)
def hold(request_id: int):
    row = access.data_request_or_404(current_user, request_id)
    customer = _needs_customer(row)
    form = HoldForm()
    return save_form(form, lambda: register.place_hold(customer, form.reason.data, current_user),
                     done=lambda _r: saved_and_go(url_for("privacy.show", request_id=row.id),
                                                  _("The legal hold is placed.")),
                     page=lambda status, **_k: _show(row, hold_form=form, status=status))


@bp.post("/data-requests/<int:request_id>/release-hold")
@access.requires(access.may_erase)
def release_hold(request_id: int):
    row = access.data_request_or_404(current_user, request_id)
    customer = _needs_customer(row)
    return run_change(lambda: register.release_hold(customer, current_user),
                      refused_url=url_for("privacy.show", request_id=row.id),
                      done=lambda _r: saved_and_go(url_for("privacy.show", request_id=row.id),
                                                   _("The legal hold is released.")))


@bp.post("/data-requests/<int:request_id>/withdraw-consent")
def withdraw_consent(request_id: int):
    row = access.data_request_or_404(current_user, request_id)
    customer = _needs_customer(row)
    return run_change(lambda: register.withdraw_consent(customer, current_user),
                      refused_url=url_for("privacy.show", request_id=row.id),
                      done=lambda _r: saved_and_go(
                          url_for("privacy.show", request_id=row.id),
                          _("Consent to recording is withdrawn: nobody can play or review "
                            "this customer's recordings now.")))


@bp.post("/data-requests/<int:request_id>/delete-recordings")
@access.requires(access.may_erase)
def delete_recordings(request_id: int):
    row = access.data_request_or_404(current_user, request_id)
    customer = _needs_customer(row)
    released: set = set()

    def change():
        released.update(register.delete_recordings(customer, current_user))

    def done(_result):
        erasure.delete_unreferenced_audio(released)
        return saved_and_go(url_for("privacy.show", request_id=row.id),
                            _("The customer's recordings are deleted."))

    return run_change(change, done=done, refused_url=url_for("privacy.show",
                                                             request_id=row.id))


# Retention ---------------------------------------------------------------------------------

@bp.get("/retention")
@access.requires(access.may_erase)
def retention_settings():
    row = retention.settings()
    return render_page("privacy/retention.html", form=RetentionForm(obj=row), row=row)


@bp.post("/retention")
@access.requires(access.may_erase)
def update_retention():
    row = retention.settings()
    form = RetentionForm()
    return save_form(
        form, lambda: retention.update_settings(
            row, form.opened_version(), recording_days=form.recording_days.data,
            audit_days=form.audit_days.data, by=current_user),
        saved=row,
        done=lambda _r: saved_and_go(url_for("privacy.retention_settings"), _("Saved.")),
        page=lambda status, **_k: render_page("privacy/retention.html", form=form, row=row,
                                              status=status))


def export_is_pending(exports) -> bool:
    return any(e.status == ExportStatus.QUEUED for e in exports)


@bp.app_template_global()
def data_export_pending(exports) -> bool:
    return export_is_pending(exports)
