"""Worker jobs of the customer's voice."""

from crm.extensions import db
from crm.voice.feedback import notify_overdue


def notify_overdue_feedback() -> int:
    """Tell managers about feedback past its deadline; one statement, safe to run twice."""
    told = notify_overdue()
    db.session.commit()
    return told
