"""Office work on customers: import from CSV/XLSX with a preview, export the filtered list.

    GET  /customers/import           the upload form (file, owner)
    POST /customers/import           check the file, keep the preview in the database → preview page
    GET  /customers/import/<token>   the preview: every row will import, has errors, or is a
                                     duplicate; nothing is written yet
    POST /customers/import/<token>   import the good rows in one transaction
    GET  /customers/import/<token>/problems.xlsx   the rows that will not import, as the file
    GET  /customers/import/<token>/problems.csv    had them, plus why: to correct and upload
    GET  /customers/export.xlsx      the customer list as filtered (same arguments as the list)
    GET  /customers/export.csv
"""

import io

from flask import Blueprint, Response, flash, request, send_file, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from crm import access
from crm.accounts.models import User
from crm.clock import utcnow
from crm.customers import exporting
from crm.customers.importing import (
    COLUMNS,
    MAX_BYTES,
    MAX_ROWS,
    NO_FILE,
    TOO_BIG,
    ImportRefused,
    check_file,
    duplicate_message,
    import_rows,
    load_preview,
    owner_choices,
    owner_load_warning,
    problem_table,
    row_message,
    store_preview,
)
from crm.customers.listing import ListParams
from crm.customers.office_forms import ConfirmImportForm, ImportForm
from crm.errors import DomainError, render_error
from crm.extensions import db
from crm.htmx import redirect_after_post, render_page
from crm.routing.routing import route_customers
from crm.saving import run_change, save_form

bp = Blueprint("customer_office", __name__, url_prefix="/customers")

# The upload may be larger than other forms: the file and a little form around it.
UPLOAD_REQUEST_LIMIT = MAX_BYTES + 256 * 1024
# Rows listed on the preview; the counts above them cover the whole file.
PREVIEW_PROBLEM_ROWS = 500
PREVIEW_IMPORTABLE_ROWS = 100
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.url_value_preprocessor
def _allow_the_upload(endpoint, _values):
    # Runs before any before_request hook reads the form (the CSRF check does).
    if endpoint == "customer_office.upload":
        request.max_content_length = UPLOAD_REQUEST_LIMIT


@bp.before_request
@access.requires(access.may_import_export)
def _office_only():
    return None  # the decorator refuses everyone but office and admin


@bp.errorhandler(413)
def _upload_too_large(error):
    # Raised while the CSRF check reads the body, before the role check: only office and
    # admin get the form back (it lists the reps); everyone else gets the plain error page.
    if not current_user.is_authenticated or not access.may_import_export(current_user):
        return render_error(error)
    form = _import_form(formdata=None)
    form.file.errors = [TOO_BIG]
    return _upload_page(form, status=413)


def _import_form(**kwargs) -> ImportForm:
    return ImportForm(owners=owner_choices(current_user), **kwargs)


def _upload_page(form: ImportForm, status: int = 200):
    return render_page("customers/import.html", form=form, columns=COLUMNS,
                       max_rows=MAX_ROWS, status=status)


def _route_teams() -> list:
    """Teams whose routing rules may hand out an import's customers."""
    return list(db.session.scalars(access.route_targets(current_user)))


def _chosen_owner(owner_id: int | None) -> User | None:
    if not owner_id:
        return None
    owners = {user.id: user for user in owner_choices(current_user)}
    if owner_id not in owners:
        raise DomainError(_("Choose an owner from the list."), field="owner_id")
    return owners[owner_id]



def _expired():
    """An unknown, expired, used or someone else's preview: all look the same."""
    form = _import_form(formdata=None)
    form.form_errors.append(_("This preview has expired or was already imported. Upload "
                              "the file again."))
    return _upload_page(form, status=404)


# Import ----------------------------------------------------------------------------------

@bp.get("/import")
def new_import():
    return _upload_page(_import_form())


@bp.post("/import")
def upload():
    form = _import_form()

    def check():
        owner = _chosen_owner(form.owner_id.data)
        upload_file = form.file.data
        if upload_file is None or not getattr(upload_file, "filename", ""):
            raise ImportRefused(NO_FILE)
        checked = check_file(upload_file.stream.read(MAX_BYTES + 1))
        # Nothing but the preview is written yet; it waits in the database.
        return store_preview(current_user, owner, upload_file.filename, checked)

    return save_form(form, check, page=lambda status: _upload_page(form, status=status),
                     done=lambda preview: redirect_after_post(
                         url_for(".preview", token=preview.token)))


@bp.get("/import/<token>")
def preview(token: str):
    found = load_preview(current_user, token)
    if found is None:
        return _expired()
    owner = db.session.get(User, found.owner_id) if found.owner_id else None
    counts = found.counts()
    return render_page(
        "customers/import_preview.html", preview=found, owner=owner, counts=counts,
        problems=found.problems()[:PREVIEW_PROBLEM_ROWS],
        importable=found.importable()[:PREVIEW_IMPORTABLE_ROWS],
        over_limit=owner_load_warning(owner, counts["ok"]),
        form=ConfirmImportForm(teams=_route_teams()),
        row_message=row_message, duplicate_message=duplicate_message)


@bp.post("/import/<token>")
def confirm(token: str):
    # The CSRF check has run already; the preview is taken, so a second click finds nothing.
    found = load_preview(current_user, token, take=True)
    if found is None:
        return _expired()
    form = ConfirmImportForm(teams=_route_teams())
    route_team = next((team for team in _route_teams()
                       if team.id == form.route_team_id.data), None)

    def import_and_route():
        result = import_rows(found, current_user)
        if route_team is not None and found.owner_id is None:
            result.routed = sum(1 for decision in route_customers(
                result.imported, route_team, current_user) if decision.owner is not None)
        return result

    def imported(result):
        flash(ngettext("%(num)d customer imported.", "%(num)d customers imported.",
                       len(result.imported)), "success")
        if getattr(result, "routed", None) is not None:
            flash(_("%(routed)d of them were routed to reps of %(team)s.",
                    routed=result.routed, team=route_team.name), "success")
        if result.skipped:
            flash(ngettext("%(num)d row was not imported: the customer was added by someone "
                           "else after the check.",
                           "%(num)d rows were not imported: the customers were added by "
                           "someone else after the check.", result.skipped), "error")
        tab = "pool" if found.owner_id is None else None
        return redirect_after_post(url_for("customers.index", tab=tab))

    # The preview's deletion is part of the import's transaction: a refused or failed
    # import is rolled back and the preview stays for another try.
    return run_change(import_and_route, done=imported, refused_url=url_for(".new_import"))


class _ProblemRows:
    """The preview's problem rows in the shape the export writers take."""

    def __init__(self, preview):
        self.header, self._rows = problem_table(preview)

    def rows(self):
        return iter(self._rows)


def _problems_name(preview, extension: str) -> str:
    stem = preview.filename.rsplit(".", 1)[0].strip() or "customers"
    return f"{stem}-problems.{extension}"


def _problems_download(token: str, extension: str):
    # Writes nothing: the same rows the preview lists, for the importer who made it.
    found = load_preview(current_user, token)
    if found is None:
        return _expired()
    table = _ProblemRows(found)
    if extension == "xlsx":
        body, mimetype = exporting.xlsx_file(table, title=_("Rows with problems")), XLSX_MIMETYPE
    else:
        body = io.BytesIO("".join(exporting.csv_chunks(table)).encode())
        mimetype = "text/csv"
    response = send_file(body, mimetype=mimetype, as_attachment=True,
                         download_name=_problems_name(found, extension))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/import/<token>/problems.xlsx")
def problems_xlsx(token: str):
    return _problems_download(token, "xlsx")


@bp.get("/import/<token>/problems.csv")
def problems_csv(token: str):
    return _problems_download(token, "csv")


# Export ----------------------------------------------------------------------------------

def _download_name(extension: str) -> str:
    return f"customers-{utcnow():%Y%m%d-%H%M}.{extension}"


@bp.get("/export.csv")
def export_csv():
    user = current_user._get_current_object()
    params = ListParams.from_args(request.args, user)
    exporting.record_export(user, params, "csv", exporting.count_rows(user, params))
    db.session.commit()  # the audit event stands even if the download breaks off
    export = exporting.Export(user, params)
    response = Response(stream_with_context(exporting.csv_chunks(export)), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{_download_name("csv")}"')
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/export.xlsx")
def export_xlsx():
    user = current_user._get_current_object()
    params = ListParams.from_args(request.args, user)
    exporting.record_export(user, params, "xlsx", exporting.count_rows(user, params))
    db.session.commit()
    response = send_file(exporting.xlsx_file(exporting.Export(user, params)),
                         mimetype=XLSX_MIMETYPE,
                         as_attachment=True, download_name=_download_name("xlsx"))
    response.headers["Cache-Control"] = "no-store"
    return response
