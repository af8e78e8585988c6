"""Worker jobs of the data-rights area: building a customer's ZIP, and the retention sweep."""

import logging
import os

from crm.extensions import db
from crm.privacy import export as export_module
from crm.privacy.models import DataExport, ExportStatus

log = logging.getLogger(__name__)


def build_data_export(export_id: int) -> None:
    """Make the ZIP of a queued export. Safe to run twice: a finished one is left alone."""
    export = db.session.get(DataExport, export_id)
    if export is None or export.status != ExportStatus.QUEUED:
        return
    try:
        export_module.build(export)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        export = db.session.get(DataExport, export_id)
        export.status = ExportStatus.FAILED
        export.error = type(error).__name__[:300]
        db.session.commit()
        raise


def purge_by_retention(now=None) -> dict:
    """The periodic sweep (crm.privacy.retention): recordings' audio and audit events past
    their time, expired exports. Commits, then deletes the files nothing refers to any more.
    Safe to run twice: what was purged is not found again."""
    from crm.privacy.erasure import delete_unreferenced_audio, export_folder
    from crm.privacy.retention import purge_rows

    purged = purge_rows(now)
    db.session.commit()
    files = delete_unreferenced_audio(purged.hashes)
    for name in purged.export_files:
        try:
            os.unlink(export_folder() / name)
        except FileNotFoundError:
            pass
    result = {"recordings": purged.recordings, "audio_files": files,
              "audit_events": purged.audit_events, "exports": purged.exports}
    log.info("retention: %s", result)
    return result
