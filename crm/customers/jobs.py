"""Worker jobs of the customers area."""

from crm.customers.pool import expire_protection


def expire_pool() -> int:
    """Daily: customers whose protection ended go back to the public pool."""
    return expire_protection()
