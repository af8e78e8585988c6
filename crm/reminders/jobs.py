"""Worker jobs of the reminders area: each derives its work from the database, commits, and
is safe to run twice or in two workers at once."""

from crm.clock import utcnow
from crm.extensions import db
from crm.reminders import delivery, sweeps


def run_reminders() -> dict:
    """Every sweep (each committed on its own), then the digests that are due."""
    made = sweeps.run_all(after_each=db.session.commit)
    made["plan_digests"] = delivery.plan_digests()
    db.session.commit()
    return made


def deliver(limit: int = 100, now=None) -> dict:
    """Send the e-mails and chat messages whose time has come (retries included). Each row
    is claimed and committed before it is sent, and its outcome committed right after."""
    now = now or utcnow()
    ids = delivery.due_ids(now, limit)
    db.session.commit()
    outcome = {"sent": 0, "failed": 0, "empty": 0}
    for delivery_id in ids:
        status = deliver_one(delivery_id, now)
        if status:
            outcome[status] += 1
    return outcome


def deliver_one(delivery_id: int, now=None) -> str | None:
    now = now or utcnow()
    claimed = delivery.claim(delivery_id, now)
    db.session.commit()
    if not claimed:
        return None  # another worker has it, or it is done
    status = delivery.attempt(delivery_id, now)
    db.session.commit()
    return status


def digest_now(email: str) -> str:
    """That person's digest at once: "sent", "empty" or "failed"."""
    row = delivery.manual_digest(email)
    db.session.commit()
    return deliver_one(row.id) or "failed"
