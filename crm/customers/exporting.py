"""Exporting the customer list exactly as filtered on screen, as XLSX or CSV.

The columns are the import's (so an export can be edited and imported again), plus the owner.
Rows are read in batches (yield_per) with their tags and owner loaded per batch, so neither
memory nor the number of queries grows row by row.
"""

import csv
import io
import secrets
import tempfile
from collections.abc import Iterator
from datetime import datetime
from types import SimpleNamespace

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from crm import access
from crm.accounts.models import User
from crm.audit.log import record, record_from
from crm.audit.models import AuditAction
from crm.clock import user_zone
from crm.customers.importing import COLUMNS
from crm.customers.listing import ListParams, customer_query
from crm.customers.models import Customer
from crm.customers.phones import display_phone
from crm.extensions import db

BATCH = 500
SHEET_TITLE = _l("Customers")
OWNER_LABEL = _l("Owner")
# After the import's columns and the owner: read-only facts, which an import passes over.
LAST_CONTACT_LABEL = _l("Last contact")
PROTECTED_UNTIL_LABEL = _l("Protected until")
CREATED_LABEL = _l("Created")
# A customer with a won deal keeps its owner for good: protected_until is then empty.
PROTECTED_FOR_GOOD = _l("For good (won deal)")
CONTACT_FIELDS = ("phone", "wechat", "email", "address")
# Cells starting with these are formulas to a spreadsheet: an exported CSV must not run them.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_query(user: User, params: ListParams):
    """The list page's query, in the list page's order, read in batches."""
    return (customer_query(user, params)
            .options(selectinload(Customer.tags), joinedload(Customer.owner))
            .order_by(Customer.id.desc())
            .execution_options(yield_per=BATCH))


def count_rows(user: User, params: ListParams) -> int:
    subquery = customer_query(user, params).order_by(None).subquery()
    return db.session.scalar(select(func.count()).select_from(subquery)) or 0


def record_export(user: User, params: ListParams, file_format: str, count: int) -> None:
    """One audit event per export (how many customers, which filters, never the data) and
    one per customer it held, so the trail answers "who exported this customer"."""
    batch = secrets.token_hex(4)
    record(AuditAction.EXPORT, user.id, None, format=file_format, count=count,
           filters=params.as_args(), batch=batch)
    record_from(AuditAction.EXPORT, user.id,
                customer_query(user, params).with_only_columns(Customer.id),
                format=file_format, batch=batch)


class Export:
    """Everything an export needs from the request, settled when it starts.

    A streamed CSV outlives the view: Flask-SQLAlchemy closes the request's session when the
    view returns, and the rows are read in a fresh one. So the query is built, the headers and
    labels are translated and the user's role is read here, not while streaming.
    """

    def __init__(self, user: User, params: ListParams):
        self.query = export_query(user, params)
        self.viewer = SimpleNamespace(id=user.id, role=user.role)
        self.header = [str(column.label) for column in COLUMNS] + [
            str(label) for label in (OWNER_LABEL, LAST_CONTACT_LABEL, PROTECTED_UNTIL_LABEL,
                                     CREATED_LABEL)]
        self.labels = {column.field: {value: str(label) for value, label
                                      in column.choices.items()}
                       for column in COLUMNS if column.choices}
        # Times in the exporting user's zone, settled now (a CSV streams after the view).
        self.zone = user_zone()
        self.for_good = str(PROTECTED_FOR_GOOD)

    def _local(self, moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        """A stored UTC time as the user's clock shows it, in a form every spreadsheet
        sorts and reads back: 2026-03-05 14:30."""
        return moment.astimezone(self.zone).strftime(pattern) if moment else ""

    def row_values(self, customer: Customer) -> list[str]:
        """One customer as the import reads it back: labels for choices, a readable phone."""
        show_contact = access.may_see_contact_details(self.viewer, customer)
        values = []
        for column in COLUMNS:
            if column.field in CONTACT_FIELDS and not show_contact:
                values.append("")
                continue
            if column.field == "tags":
                value = ", ".join(tag.name for tag in customer.tags)
            elif column.field == "phone":
                value = display_phone(customer.phone_normalized) or customer.phone
            else:
                value = getattr(customer, column.field)
                if column.field in self.labels and value:
                    value = self.labels[column.field].get(value, value)
            values.append("" if value is None else str(value))
        values.append(customer.owner.name if customer.owner else "")
        values.append(self._local(customer.last_contact_at))
        if customer.owner_id is not None and customer.protected_until is None:
            values.append(self.for_good)
        else:
            values.append(self._local(customer.protected_until))
        values.append(self._local(customer.created_at, "%Y-%m-%d"))
        return values

    def rows(self) -> Iterator[list[str]]:
        for customer in db.session.scalars(self.query):
            yield self.row_values(customer)


def _csv_safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_chunks(export: Export) -> Iterator[str]:
    """The CSV in pieces: UTF-8 with a byte-order mark, so that Excel reads the Chinese."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(export.header)
    for number, values in enumerate(export.rows(), start=1):
        writer.writerow([_csv_safe(value) for value in values])
        if number % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_file(export: Export, title=SHEET_TITLE):
    """The workbook in a temporary file (write-only: rows go to disk as they come).
    `export` is anything with a `header` and `rows()`, as Export has."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(title)[:31])
    sheet.append(export.header)
    for values in export.rows():
        cells = []
        for value in values:
            if not value:
                cells.append(None)
                continue
            cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
            cell.data_type = "s"  # text, always: never a formula, never a number
            cells.append(cell)
        sheet.append(cells)
    output = tempfile.TemporaryFile()
    workbook.save(output)
    output.seek(0)
    return output
