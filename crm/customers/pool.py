"""The public pool (公海): claiming, releasing, and protection that runs out."""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from crm.accounts.models import User
from crm.accounts.teams import rules_for
from crm.clock import utcnow
from crm.customers.history import log_one, log_ownership
from crm.customers.models import Customer, OwnershipChange
from crm.errors import DomainError
from crm.extensions import db
from crm.pipeline.deals import follow_customers


def pool_rules(user: User) -> tuple[int, int]:
    """(protection days, holding limit) for a user: their team's settings."""
    rules = rules_for(user)
    return rules.protection_days, rules.holding_limit


def holding_count(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Customer)
                             .where(Customer.owner_id == user_id)) or 0


def claim_customer(customer_id: int, user: User) -> Customer:
    """Take a pool customer. Of two reps claiming at the same moment exactly one wins: the
    owner is set by one conditional UPDATE, and only the row still in the pool changes."""
    protection_days, limit = pool_rules(user)
    if holding_count(user.id) >= limit:
        raise DomainError(_l("You already hold %(limit)d customers, your team's limit. "
                             "Release some before claiming more.", limit=limit))
    now = utcnow()
    result = db.session.execute(
        update(Customer)
        .where(Customer.id == customer_id, Customer.owner_id.is_(None))
        .values(owner_id=user.id, claimed_at=now,
                protected_until=now + timedelta(days=protection_days),
                version=Customer.version + 1)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise DomainError(_l("Someone else claimed this customer a moment ago."))
    log_one(customer_id, OwnershipChange.CLAIM, to_user_id=user.id, by_user_id=user.id)
    # Deals someone left open on it are now the claimer's to work.
    follow_customers([customer_id], user.id)
    return db.session.get(Customer, customer_id, populate_existing=True)


def release_customer(customer: Customer, user: User, reason: str) -> None:
    """Give a customer back to the pool, saying why."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Say why you release this customer."), field="reason")
    if customer.owner_id is None:
        raise DomainError(_l("This customer is already in the pool."))
    previous = customer.owner_id
    # Conditional, like a claim: if the owner changed meanwhile, nothing is released.
    result = db.session.execute(
        update(Customer).where(Customer.id == customer.id, Customer.owner_id == previous)
        .values(owner_id=None, claimed_at=None, protected_until=None,
                version=Customer.version + 1)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise DomainError(_l("This customer changed hands a moment ago; nothing was released."))
    log_one(customer.id, OwnershipChange.RELEASE, from_user_id=previous, by_user_id=user.id,
            reason=reason[:300])


def expire_protection(now: datetime | None = None) -> int:
    """Return to the pool every customer whose protection ended without a won deal.

    One UPDATE … RETURNING picks and frees them together (so nothing claimed in between is
    touched) and one INSERT records an ownership event each. Returns how many went back.
    """
    now = now or utcnow()
    expired = (Customer.owner_id.is_not(None), Customer.protected_until.is_not(None),
               Customer.protected_until <= now)
    # Lock the expired rows (PostgreSQL) and note their owners for the events...
    owners = dict(db.session.execute(
        select(Customer.id, Customer.owner_id).where(*expired).with_for_update()).all())
    if not owners:
        return 0
    # ...then free exactly those still expired, and record one event each.
    freed = db.session.scalars(
        update(Customer)
        .where(Customer.id.in_(owners), *expired)
        .values(owner_id=None, claimed_at=None, protected_until=None,
                version=Customer.version + 1)
        .returning(Customer.id)
        .execution_options(synchronize_session=False)).all()
    log_ownership([{"customer_id": customer_id, "kind": OwnershipChange.EXPIRY,
                    "from_user_id": owners[customer_id], "to_user_id": None,
                    "by_user_id": None} for customer_id in freed])
    return len(freed)


def warning_days(user: User) -> int:
    return rules_for(user).expiry_warning_days


def expiring_soon(user: User, limit: int = 20) -> list[Customer]:
    """The user's customers whose protection ends within their team's warning window."""
    cutoff = utcnow() + timedelta(days=warning_days(user))
    return list(db.session.scalars(
        select(Customer).where(Customer.owner_id == user.id,
                               Customer.protected_until.is_not(None),
                               Customer.protected_until <= cutoff)
        .order_by(Customer.protected_until, Customer.id).limit(limit)))


def days_left(customer: Customer, now: datetime | None = None) -> int | None:
    if customer.owner_id is None or customer.protected_until is None:
        return None
    remaining = customer.protected_until - (now or utcnow())
    return max(0, remaining.days + (1 if remaining.seconds else 0))
