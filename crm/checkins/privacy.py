"""Check-ins in a customer's export and erasure: where each check-in on them was made, and
their saved location. Registered with crm.privacy on import."""

from sqlalchemy import delete, select, update

from crm.checkins.models import CheckIn, CustomerLocation
from crm.extensions import db
from crm.privacy import erasure, export


def _check_ins(cid: int) -> list[dict]:
    return export.rows(select(CheckIn).where(CheckIn.customer_id == cid)
                       .order_by(CheckIn.at, CheckIn.id))


def _location(cid: int) -> list[dict]:
    return export.rows(select(CustomerLocation).where(CustomerLocation.customer_id == cid))


def erase(cid: int) -> None:
    """The saved location goes; each check-in keeps who, when, how long and its flags (the
    rep's visit record), its position is zeroed and its distance forgotten."""
    db.session.execute(update(CheckIn).where(CheckIn.customer_id == cid)
                       .values(latitude=0.0, longitude=0.0, accuracy_m=None, distance_m=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(CustomerLocation).where(CustomerLocation.customer_id == cid)
                       .execution_options(synchronize_session=False))


export.SECTIONS.extend([("check_ins", _check_ins), ("saved_location", _location)])
erasure.ERASERS.append(erase)
