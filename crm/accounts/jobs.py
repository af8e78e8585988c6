"""Worker jobs of the accounts area."""

from crm.accounts.sessions import prune_expired_sessions as _prune
from crm.extensions import db


def prune_expired_sessions() -> int:
    """Daily: forget sessions nobody can use any more."""
    pruned = _prune()
    db.session.commit()
    return pruned
