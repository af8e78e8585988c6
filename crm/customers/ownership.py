"""Managers move customers between reps (流转); a leaving rep's customers go in one step."""

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, literal, select, update

from crm import access
from crm.accounts.models import User
from crm.audit.log import record_many
from crm.audit.models import AuditAction
from crm.clock import utcnow
from crm.columns import UTCDateTime
from crm.customers.history import log_ownership
from crm.customers.models import Customer, OwnershipChange
from crm.customers.pool import pool_rules
from crm.errors import DomainError
from crm.extensions import db
from crm.pipeline.deals import follow_customers


def _move(customer_ids: list[int], to_user: User | None, by: User, kind: OwnershipChange,
          reason: str | None) -> int:
    """Set the owner of these customers in one UPDATE and log one event each."""
    if not customer_ids:
        return 0
    previous = dict(db.session.execute(
        select(Customer.id, Customer.owner_id).where(Customer.id.in_(customer_ids))
        .with_for_update()).all())
    moving = [cid for cid, owner in previous.items()
              if owner != (to_user.id if to_user else None)]
    if not moving:
        return 0
    now = utcnow()
    values = {"owner_id": None, "claimed_at": None, "protected_until": None}
    if to_user is not None:
        protection_days, _limit = pool_rules(to_user)
        # A customer protected for good (a won deal: owned, no end date) stays so.
        for_good = Customer.owner_id.is_not(None) & Customer.protected_until.is_(None)
        values = {"owner_id": to_user.id, "claimed_at": now,
                  "protected_until": case((for_good, None), else_=literal(
                      now + timedelta(days=protection_days), UTCDateTime()))}
    db.session.execute(update(Customer).where(Customer.id.in_(moving))
                       .values(**values, version=Customer.version + 1)
                       .execution_options(synchronize_session=False))
    if to_user is not None:
        follow_customers(moving, to_user.id)
    log_ownership([{"customer_id": cid, "kind": kind, "from_user_id": previous[cid],
                    "to_user_id": to_user.id if to_user else None, "by_user_id": by.id,
                    "reason": reason} for cid in moving])
    record_many(AuditAction.TRANSFER, by.id, moving, kind=kind.value,
                to_user_id=to_user.id if to_user else None)
    return len(moving)


def transfer_customers(customer_ids: list[int], to_user: User, by: User,
                       reason: str | None = None) -> int:
    """Transfer (流转) customers the caller may see to an active rep or manager."""
    if not access.may_receive_customers(to_user):
        raise DomainError(_l("Customers can only go to an active rep or manager."),
                          field="to_user_id")
    return _move(customer_ids, to_user, by, OwnershipChange.TRANSFER, (reason or "").strip()
                 or None)


def hand_over_customers(from_user: User, to_user: User | None, by: User) -> int:
    """Everything a leaving rep owns goes to one colleague, or back to the pool."""
    if to_user is not None and (to_user.id == from_user.id or not to_user.active):
        raise DomainError(_l("Hand the customers to another active colleague."),
                          field="handover_to")
    ids = list(db.session.scalars(select(Customer.id).where(Customer.owner_id == from_user.id)))
    # The event names who it came from; no reason text, which would be frozen in one language.
    return _move(ids, to_user, by, OwnershipChange.HANDOVER, None)
