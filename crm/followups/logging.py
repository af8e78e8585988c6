"""Logging follow-ups and ride-along notes; a follow-up moves the customer's last contact."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, false, literal, select, update
from sqlalchemy.orm import joinedload

from crm.accounts.models import User
from crm.clock import utcnow
from crm.columns import UTCDateTime
from crm.customers.models import Customer
from crm.errors import DomainError
from crm.extensions import db
from crm.followups.models import Companion, FollowUp, FollowUpKind

CONTACT_KINDS = (FollowUpKind.VISIT, FollowUpKind.CALL, FollowUpKind.MEETING,
                 FollowUpKind.MESSAGE)


def already_logged(author: User, submission_key: str | None) -> FollowUp | None:
    """The follow-up this author's form already saved, when the same form arrives again."""
    if not submission_key:
        return None
    return db.session.scalar(select(FollowUp).where(FollowUp.submission_key == submission_key,
                                                    FollowUp.author_id == author.id))


def log_follow_up(customer: Customer, author: User, *, kind: FollowUpKind,
                  occurred_at: datetime, summary: str, companions: list[User] = (),
                  **details) -> FollowUp:
    """Record what happened; the customer's last contact moves forward (never back)."""
    if occurred_at > utcnow():
        raise DomainError(_l("A follow-up cannot happen in the future."), field="occurred_at")
    if not (summary or "").strip():
        raise DomainError(_l("Say what happened."), field="summary")
    follow_up = FollowUp(customer_id=customer.id, author_id=author.id, kind=kind,
                         occurred_at=occurred_at, summary=summary.strip(), **details)
    follow_up.companions = [Companion(user_id=user.id) for user in companions
                            if user.id != author.id]
    db.session.add(follow_up)
    if kind in CONTACT_KINDS:
        # Only ever forward: a late entry for last week must not hide today's visit.
        when = literal(occurred_at, UTCDateTime())
        db.session.execute(
            update(Customer).where(Customer.id == customer.id)
            .values(last_contact_at=case(
                (Customer.last_contact_at.is_(None) | (Customer.last_contact_at < when), when),
                else_=Customer.last_contact_at))
            .execution_options(synchronize_session=False))
    db.session.flush()
    return follow_up


def add_companion_notes(follow_up: FollowUp, user: User, notes: str) -> Companion:
    companion = next((c for c in follow_up.companions if c.user_id == user.id), None)
    if companion is None:
        raise DomainError(_l("Only those who rode along add notes to this visit."))
    companion.notes = (notes or "").strip() or None
    companion.notes_at = utcnow()
    return companion


def still_the_plan():
    """A follow-up's next step is still the plan: no later follow-up on its customer
    superseded it (the `superseded` flag the database keeps, see 0017_scale)."""
    return FollowUp.superseded == false()


def follow_ups_due(user_id: int, today, limit: int = 30) -> list[FollowUp]:
    """The user's follow-ups whose next date has come, unless the customer was followed up
    again since (a later follow-up supersedes the plan)."""
    return list(db.session.scalars(
        select(FollowUp).where(FollowUp.author_id == user_id, FollowUp.next_date.is_not(None),
                               FollowUp.next_date <= today, still_the_plan())
        .options(joinedload(FollowUp.customer))
        .order_by(FollowUp.next_date, FollowUp.id).limit(limit)))

