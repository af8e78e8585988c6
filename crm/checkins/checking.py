"""Checking in and out: the distance to the customer and the flags."""

import math
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from crm.accounts.models import User
from crm.checkins.models import CheckIn, CustomerLocation
from crm.clock import utcnow
from crm.customers.models import Customer
from crm.errors import DomainError
from crm.extensions import db

# Farther than this from the customer's saved location is flagged (metres): the team's
# setting (Admin → Teams), TEAM_DEFAULTS.check_in_far_metres (300) without a team.
# A position the phone is less sure of than this is flagged (metres).
POOR_ACCURACY_METRES = 200
EARTH_RADIUS_METRES = 6_371_000


def distance_metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine): plenty for "at the customer or not"."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_METRES * math.asin(math.sqrt(a))


def far_metres(user: User) -> int:
    from crm.accounts.teams import rules_for

    return rules_for(user).check_in_far_metres


def set_check_in_distance(team, metres: int | None) -> None:
    """The team's check-in distance; None keeps it."""
    if metres is not None:
        team.check_in_far_metres = metres


def location_of(customer: Customer) -> CustomerLocation | None:
    return db.session.get(CustomerLocation, customer.id)


def check_in(customer: Customer, user: User, latitude: float, longitude: float,
             accuracy_m: float | None, set_location: bool = False) -> CheckIn:
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise DomainError(_l("The position is not valid."))
    saved = location_of(customer)
    if saved is None and set_location:
        saved = CustomerLocation(customer_id=customer.id, latitude=latitude,
                                 longitude=longitude, set_by_id=user.id, set_at=utcnow())
        db.session.add(saved)
    distance = (distance_metres(latitude, longitude, saved.latitude, saved.longitude)
                if saved is not None else None)
    entry = CheckIn(customer_id=customer.id, user_id=user.id, at=utcnow(), latitude=latitude,
                    longitude=longitude, accuracy_m=accuracy_m, distance_m=distance,
                    far=distance is not None and distance > far_metres(user),
                    inaccurate=accuracy_m is None or accuracy_m > POOR_ACCURACY_METRES)
    db.session.add(entry)
    db.session.flush()
    return entry


def check_out(entry: CheckIn, when: datetime | None = None) -> CheckIn:
    if entry.checked_out_at is None:
        entry.checked_out_at = when or utcnow()
    return entry


def day_of(user_id: int, start: datetime, end: datetime) -> list[CheckIn]:
    """One person's check-ins between two instants, oldest first, with their customers."""
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(
        select(CheckIn).where(CheckIn.user_id == user_id, CheckIn.at >= start, CheckIn.at < end)
        .options(joinedload(CheckIn.customer)).order_by(CheckIn.at)))


# A visit logged this long after checking in still belongs to that check-in.
LINK_WITHIN = timedelta(hours=12)


def link_to_visit(follow_up) -> None:
    """The author's latest check-in at this customer not yet on a visit, made up to
    LINK_WITHIN before the visit happened, goes on it (one statement)."""
    latest = (select(CheckIn.id).where(
        CheckIn.user_id == follow_up.author_id, CheckIn.customer_id == follow_up.customer_id,
        CheckIn.follow_up_id.is_(None), CheckIn.at >= follow_up.occurred_at - LINK_WITHIN)
        .order_by(CheckIn.at.desc(), CheckIn.id.desc()).limit(1).scalar_subquery())
    db.session.execute(update(CheckIn).where(CheckIn.id == latest)
                       .values(follow_up_id=follow_up.id)
                       .execution_options(synchronize_session=False))
