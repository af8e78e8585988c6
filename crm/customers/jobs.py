"""Worker jobs of the customers area."""

from crm.customers.pool import expire_protection
from crm.extensions import db


def expire_pool() -> int:
    """Daily: customers whose protection ended go back to the public pool."""
    returned = expire_protection()
    db.session.commit()
    return returned
