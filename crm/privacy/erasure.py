"""Erasure (PIPL art. 47): a customer anonymised for good, their recordings' audio deleted.

What goes: the name (replaced by "已删除客户 #id"), organisation, every contact detail and
profile text, the contacts, tags, the free texts of follow-ups, deals and ownership events
(who did what and when stays, so counts and the pipeline history keep their meaning), review
comments on the customer's recordings (their texts quote the customer; the rep's scores,
summary-less, stay), notifications about the customer, and exports of their data. Each other
area clears its own tables through the ERASERS it registers (crm/<area>/privacy.py).
Audio: each recording's row stays (its review keeps its place) with its hashes blanked; a
stored blob is deleted only when no other recording still refers to it (the store keeps one
file per content, and the same bytes may belong to another follow-up).

`erase_customer` changes the database only; the caller commits and then calls
`delete_unreferenced_audio` with the hashes it returned, so a rolled-back erasure deletes no
file that a surviving row needs.
"""

import os
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update

from crm.accounts.models import User
from crm.audit.log import record
from crm.audit.models import AuditAction
from crm.clock import utcnow
from crm.customers.models import Contact, Customer, OwnershipEvent, customer_tags
from crm.errors import DomainError
from crm.extensions import db
from crm.followups.models import Companion, FollowUp
from crm.notifications.models import Notification
from crm.pipeline.models import Deal, DealEvent, DealReview
from crm.privacy.models import DataExport, LegalHold
from crm.recordings.models import Recording, RecordingStatus
from crm.reviews.models import ImprovementAction, Review, ReviewComment
from crm.storage import audio_store

ERASED_NAME = "已删除客户 #{id}"
REMOVED = "—"

# Customer columns that hold the person's data, set to None (name and search are rewritten).
PERSONAL_COLUMNS = (
    "organisation", "gender", "birthday", "age", "phone", "phone_normalized", "wechat", "email",
    "address", "region", "industry", "size_band", "job_title", "position", "needs",
    "pain_points", "preferences", "personality", "consumption_habits", "source_channel",
    "referrer_id",
)


def is_on_hold(customer_id: int) -> bool:
    return db.session.scalar(
        select(LegalHold.id).where(LegalHold.customer_id == customer_id)) is not None


def _recordings_of(customer_id: int):
    return select(Recording.id).where(Recording.follow_up_id.in_(
        select(FollowUp.id).where(FollowUp.customer_id == customer_id)))


def strip_audio(recording_ids) -> set[str]:
    """Blank the recordings' audio (rows stay for their reviews); returns the hashes they
    held, for `delete_unreferenced_audio` after the commit. `recording_ids` is a SELECT of
    ids (or a list): two statements whatever their number."""
    rows = db.session.execute(
        select(Recording.original_sha256, Recording.playable_sha256)
        .where(Recording.id.in_(recording_ids))).all()
    hashes = {h for row in rows for h in row if h}
    db.session.execute(
        update(Recording).where(Recording.id.in_(recording_ids))
        .values(status=RecordingStatus.DELETED, original_sha256="", playable_sha256=None,
                original_size=0, playable_size=None, peaks=None, error=None)
        .execution_options(synchronize_session=False))
    return hashes


def delete_unreferenced_audio(hashes) -> int:
    """Delete each blob no recording refers to any more; returns how many files went.
    Run after the commit that released them."""
    if not hashes:
        return 0
    hashes = sorted(hashes)
    still_used = set(db.session.scalars(select(Recording.original_sha256).where(
        Recording.original_sha256.in_(hashes))))
    still_used |= set(db.session.scalars(select(Recording.playable_sha256).where(
        Recording.playable_sha256.in_(hashes))))
    store, deleted = audio_store(), 0
    for sha256 in hashes:
        if sha256 in still_used:
            continue
        try:
            store.path_for(sha256).unlink()
            deleted += 1
        except FileNotFoundError:
            pass
    return deleted


def export_folder() -> Path:
    return Path(current_app.config["INSTANCE_DIR"]) / "exports"


def delete_export_files(customer_id: int) -> None:
    """The ZIPs of a customer's data (called after the commit, like the audio)."""
    folder = export_folder()
    if not folder.exists():
        return
    for path in folder.glob(f"customer-{customer_id}-*.zip"):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def erase_customer(customer: Customer, by: User, reason: str) -> set[str]:
    """Anonymise the customer and release their audio; returns the audio hashes to delete
    once committed. Refused under a legal hold, or when already erased."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Say why the customer's data is erased."), field="reason")
    if customer.erased_at is not None:
        raise DomainError(_l("This customer's data has already been erased."))
    if is_on_hold(customer.id):
        raise DomainError(_l("A legal hold keeps this customer's data: release it first."))

    cid = customer.id
    recordings = _recordings_of(cid)
    hashes = strip_audio(recordings)

    # Review comments quote the customer: their texts go; scores and actions' dates stay.
    reviews = select(Review.id).where(Review.recording_id.in_(recordings))
    db.session.execute(update(ReviewComment).where(ReviewComment.review_id.in_(reviews))
                       .values(body=REMOVED, reply=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Review).where(Review.id.in_(reviews)).values(summary=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(ImprovementAction).where(ImprovementAction.review_id.in_(reviews))
                       .values(text=REMOVED).execution_options(synchronize_session=False))

    follow_ups = select(FollowUp.id).where(FollowUp.customer_id == cid)
    db.session.execute(update(FollowUp).where(FollowUp.customer_id == cid).values(
        summary=REMOVED, outcome=None, next_step=None, location=None, latitude=None,
        longitude=None).execution_options(synchronize_session=False))
    db.session.execute(update(Companion).where(Companion.follow_up_id.in_(follow_ups))
                       .values(notes=None).execution_options(synchronize_session=False))

    deals = select(Deal.id).where(Deal.customer_id == cid)
    db.session.execute(update(Deal).where(Deal.customer_id == cid)
                       .values(title=REMOVED, lost_reason=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(DealEvent).where(DealEvent.customer_id == cid).values(note=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(DealReview).where(DealReview.deal_id.in_(deals))
                       .values(note=None).execution_options(synchronize_session=False))
    db.session.execute(update(OwnershipEvent).where(OwnershipEvent.customer_id == cid)
                       .values(reason=None).execution_options(synchronize_session=False))
    db.session.execute(delete(Notification).where(Notification.customer_id == cid)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(DataExport).where(DataExport.customer_id == cid)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(Contact).where(Contact.customer_id == cid)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(customer_tags).where(customer_tags.c.customer_id == cid))
    # Other customers this one referred keep no pointer to them.
    db.session.execute(update(Customer).where(Customer.referrer_id == cid)
                       .values(referrer_id=None).execution_options(synchronize_session=False))
    _erase_other_areas(cid)

    db.session.expire(customer, ["contacts", "tags"])
    for column in PERSONAL_COLUMNS:
        setattr(customer, column, None)
    customer.name = ERASED_NAME.format(id=cid)
    customer.search_text = ""
    customer.search_contact = ""
    customer.recording_consent = False
    customer.birthday_lunar = False
    customer.erased_at = utcnow()
    record(AuditAction.ERASE, by.id, cid, reason=reason[:300])
    return hashes


def _erase_other_areas(customer_id: int) -> None:
    """Tables other areas add that carry a customer's words (check-ins, feedback, surveys…)
    register a function here from their own `crm/<area>/privacy.py` (listed in
    crm.PRIVACY_MODULES); each takes the customer id and clears what it holds. They run
    before the customer's own columns are blanked, so they may still read the name."""
    for eraser in ERASERS:
        eraser(customer_id)


ERASERS: list = []


def compact_sqlite() -> None:
    """On SQLite, fold the write-ahead log into the database and empty it, so the erased
    values' old pages are not left in the -wal file (secure_delete zeroes them in the
    database itself). The search index (FTS5) only marks an erased row's words as deleted:
    merging its segments ('optimize') drops them. PostgreSQL keeps dead rows until VACUUM,
    which autovacuum runs."""
    if db.engine.dialect.name != "sqlite":
        return
    from crm.customers.search import FTS_TABLE

    with db.engine.connect() as connection:
        if connection.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                      "AND name = ?", (FTS_TABLE,)).first():
            connection.exec_driver_sql(
                f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
            connection.commit()
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
