"""A copy of one customer's data (PIPL art. 45): a ZIP the worker writes with a JSON view
(data.json, everything in one document), a CSV view (one file per kind of record) and the
recordings' audio as uploaded. Nothing of another customer goes in: every query is by this
customer's id.

Areas that add tables holding a customer's data (check-ins, feedback, surveys…) register a
section in SECTIONS from their own `crm/<area>/privacy.py` (listed in crm.PRIVACY_MODULES):
a name and a function customer_id -> list of dicts.
"""

import csv
import io
import json
import os
import secrets
import tempfile
import zipfile
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import inspect, select

from crm.accounts.models import User
from crm.audit.log import record
from crm.audit.models import AuditAction
from crm.clock import utcnow
from crm.customers.models import Contact, Customer, OwnershipEvent, Tag, customer_tags
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.pipeline.models import Deal, DealEvent
from crm.privacy.erasure import export_folder
from crm.privacy.models import DataExport, DataRequest, ExportStatus
from crm.recordings.models import Recording, RecordingStatus
from crm.recordings.sniffing import EXTENSIONS
from crm.storage import audio_store

# Internal columns that say nothing about the person.
SKIPPED = {"search_text", "search_contact", "version", "submission_key", "peaks"}


def _value(value):
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def _row(obj) -> dict:
    return {attr.key: _value(getattr(obj, attr.key))
            for attr in inspect(obj).mapper.column_attrs if attr.key not in SKIPPED}


def _rows(query) -> list[dict]:
    return [_row(obj) for obj in db.session.scalars(query)]


# For the areas' sections (crm/<area>/privacy.py): a row as exported, and a query's rows.
row = _row
rows = _rows


def _profile(cid: int) -> list[dict]:
    customer = db.session.get(Customer, cid)
    profile = _row(customer)
    profile["tags"] = ", ".join(db.session.scalars(
        select(Tag.name).join(customer_tags).where(customer_tags.c.customer_id == cid)
        .order_by(Tag.name)))
    return [profile]


def _follow_ups(cid: int) -> list[dict]:
    return _rows(select(FollowUp).where(FollowUp.customer_id == cid).order_by(FollowUp.id))


def _recordings(cid: int) -> list[dict]:
    query = (select(Recording).join(FollowUp, FollowUp.id == Recording.follow_up_id)
             .where(FollowUp.customer_id == cid).order_by(Recording.id))
    rows = []
    for recording in db.session.scalars(query):
        row = _row(recording)
        row["file"] = audio_name(recording) if recording.original_sha256 else None
        rows.append(row)
    return rows


SECTIONS: list = [
    ("profile", _profile),
    ("contacts", lambda cid: _rows(select(Contact).where(Contact.customer_id == cid)
                                   .order_by(Contact.id))),
    ("follow_ups", _follow_ups),
    ("deals", lambda cid: _rows(select(Deal).where(Deal.customer_id == cid).order_by(Deal.id))),
    ("deal_events", lambda cid: _rows(select(DealEvent).where(DealEvent.customer_id == cid)
                                      .order_by(DealEvent.id))),
    ("ownership", lambda cid: _rows(select(OwnershipEvent)
                                    .where(OwnershipEvent.customer_id == cid)
                                    .order_by(OwnershipEvent.id))),
    ("recordings", _recordings),
    # Other areas append theirs from crm/<area>/privacy.py (listed in crm.PRIVACY_MODULES).
]


def audio_name(recording: Recording) -> str:
    return f"audio/recording-{recording.id}.{EXTENSIONS.get(recording.original_type, 'bin')}"


def collect(customer_id: int) -> dict[str, list[dict]]:
    return {name: build(customer_id) for name, build in SECTIONS}


def _csv_bytes(rows: list[dict]) -> bytes:
    out = io.StringIO()
    columns = list(dict.fromkeys(key for row in rows for key in row))
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _spreadsheet_safe(v) for k, v in row.items()})
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM: Excel reads it as UTF-8


def _spreadsheet_safe(value):
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


def write_zip(customer_id: int, target) -> None:
    """The ZIP of everything held about the customer, written to the open file `target`."""
    data = collect(customer_id)
    recordings = db.session.scalars(
        select(Recording).join(FollowUp, FollowUp.id == Recording.follow_up_id)
        .where(FollowUp.customer_id == customer_id,
               Recording.status != RecordingStatus.DELETED)).all()
    store = audio_store()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(
            {"customer_id": customer_id, "exported_at": utcnow().isoformat(), **data},
            ensure_ascii=False, indent=2))
        for name, rows in data.items():
            archive.writestr(f"csv/{name}.csv", _csv_bytes(rows))
        for recording in recordings:
            path = store.path_for(recording.original_sha256)
            if path.exists():
                # Audio is compressed already; streamed from the store in chunks.
                archive.write(path, audio_name(recording), compress_type=zipfile.ZIP_STORED)


def link_hours() -> float:
    return current_app.config["DATA_EXPORT_LINK_HOURS"]


def request_export(customer: Customer, by: User, data_request: DataRequest | None) -> DataExport:
    """Register an export for the worker; audited now (who asked for whose data)."""
    export = DataExport(customer_id=customer.id, requested_by_id=by.id,
                        request_id=data_request.id if data_request else None,
                        token=secrets.token_urlsafe(32), status=ExportStatus.QUEUED,
                        expires_at=utcnow() + timedelta(hours=link_hours()))
    db.session.add(export)
    db.session.flush()
    record(AuditAction.DATA_EXPORT, by.id, customer.id, export=export.id, step="requested")
    return export


def build(export: DataExport) -> None:
    """Write the ZIP for a queued export (the worker's part); the caller commits."""
    folder = export_folder()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"customer-{export.customer_id}-{export.id}.zip"
    fd, temporary = tempfile.mkstemp(dir=folder, prefix="building-", suffix=".zip")
    try:
        with os.fdopen(fd, "wb") as target:
            write_zip(export.customer_id, target)
        os.replace(temporary, folder / name)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    export.file_name = name
    export.size = (folder / name).stat().st_size
    export.status = ExportStatus.READY
    export.ready_at = utcnow()
    # The link lives its hours from the moment it can be used.
    export.expires_at = utcnow() + timedelta(hours=link_hours())


def file_of(export: DataExport):
    return export_folder() / export.file_name
