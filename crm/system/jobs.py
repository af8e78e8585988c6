"""Worker jobs that keep the installation tidy."""

import logging
import shutil
import time
from pathlib import Path

from crm.extensions import db
from crm.storage import audio_store

log = logging.getLogger(__name__)

# An upload or a transcode in flight is younger than this (a 200 MB upload on a slow phone
# network takes minutes, a transcode at most its job timeout of 30).
PARTIAL_MAX_AGE_SECONDS = 2 * 3600


def purge_partials(folder: Path, max_age_seconds: float = PARTIAL_MAX_AGE_SECONDS,
                   now: float | None = None) -> int:
    """Delete what killed processes left in an `incoming/` folder: partial uploads and
    transcodes' work folders not touched for `max_age_seconds`."""
    if not folder.exists():
        return 0
    cutoff = (now or time.time()) - max_age_seconds
    removed = 0
    for entry in folder.iterdir():
        try:
            if entry.lstat().st_mtime >= cutoff:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
        except FileNotFoundError:
            continue  # its own process removed it meanwhile
    return removed


def purge_leftovers() -> dict[str, int]:
    """Hourly: partial upload files from killed processes, and import previews that
    expired unconfirmed (they hold names and phones)."""
    from crm.customers.importing import purge_expired_previews

    partials = purge_partials(audio_store().incoming_dir)
    previews = purge_expired_previews()
    db.session.commit()
    if partials or previews:
        log.info("purged %d partial files and %d expired import previews", partials, previews)
    return {"partials": partials, "previews": previews}
