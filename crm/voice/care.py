"""Customer care (客户关怀): whose birthday comes (solar or lunar), whom to thank for valuable
feedback, which key customers have gone quiet, member days and the greetings and gifts given."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, extract, func, select
from sqlalchemy.orm import joinedload

from crm.accounts.models import Team, User
from crm.birthdays import falls_within
from crm.clock import local_today, utcnow
from crm.customers.models import Contact, Customer, Tier
from crm.errors import DomainError
from crm.extensions import db
from crm.voice.models import CareGesture, Feedback, GestureKind, MemberDay, Occasion

# A lunar birthday falls on a solar date that moves about a month from year to year; kept in
# the ordinary month when born in a leap month, it may fall another month earlier. Candidates
# are read by month and day within this margin, then checked exactly.
LUNAR_MARGIN_DAYS = 66
# A list on the page shows this many (the soonest, the newest, the quietest); exports more.
LIST_LIMIT = 50
EXPORT_LIMIT = 5000


@dataclass
class Birthday:
    on: date
    customer: Customer
    contact: Contact | None
    lunar: bool

    @property
    def name(self) -> str:
        return self.contact.name if self.contact else self.customer.name


def _month_day(column):
    return extract("month", column) * 100 + extract("day", column)


def _window(column, first: date, last: date):
    """The column's month and day fall between first's and last's (across the year's end
    too); a window of a year or more is everything."""
    if (last - first).days >= 365:
        return column.is_not(None)
    low, high = first.month * 100 + first.day, last.month * 100 + last.day
    month_day = _month_day(column)
    if low <= high:
        return month_day.between(low, high)
    return (month_day >= low) | (month_day <= high)


def _candidates(column, lunar_column, first: date, days: int):
    last = first + timedelta(days=days - 1)
    margin = timedelta(days=LUNAR_MARGIN_DAYS)
    return column.is_not(None) & (
        (lunar_column.is_(False) & _window(column, first, last)
         # 29 February is kept on 28 February in common years.
         | (lunar_column.is_(False) & (_month_day(column) == 229)))
        | (lunar_column.is_(True) & _window(column, first - margin, last + margin)))


@lru_cache(maxsize=50_000)
def _falls(birthday: date, lunar: bool, first: date, days: int) -> date | None:
    """crm.birthdays.falls_within, remembered: a lunar date costs a calendar conversion, and
    the care list asks about the same people all week."""
    return falls_within(birthday, lunar, first, days)


def birthdays(customers: Select, first: date, days: int, limit: int = LIST_LIMIT
              ) -> list[Birthday]:
    """Customers' and their contacts' birthdays from `first` for `days` days, soonest first.
    Candidates are read as bare columns, narrowed by month and day in SQL; the calendars are
    worked out for those, and only the people found are loaded: four queries."""
    ids = customers.with_only_columns(Customer.id)
    hits: list[tuple[date, int, int | None, bool]] = []
    # The scope's own conditions on the same table: no self-join through an IN.
    for customer_id, birthday, lunar in db.session.execute(
            customers.with_only_columns(Customer.id, Customer.birthday, Customer.birthday_lunar)
            .where(_candidates(Customer.birthday, Customer.birthday_lunar, first, days))):
        on = _falls(birthday, lunar, first, days)
        if on:
            hits.append((on, customer_id, None, lunar))
    for contact_id, customer_id, birthday, lunar in db.session.execute(
            select(Contact.id, Contact.customer_id, Contact.birthday, Contact.birthday_lunar)
            .where(Contact.customer_id.in_(ids),
                   _candidates(Contact.birthday, Contact.birthday_lunar, first, days))):
        on = _falls(birthday, lunar, first, days)
        if on:
            hits.append((on, customer_id, contact_id, lunar))
    hits.sort(key=lambda hit: (hit[0], hit[1], hit[2] or 0))
    hits = hits[:limit]
    people = {c.id: c for c in db.session.scalars(
        select(Customer).where(Customer.id.in_({h[1] for h in hits}))
        .options(joinedload(Customer.owner)))}
    contacts = {c.id: c for c in db.session.scalars(
        select(Contact).where(Contact.id.in_({h[2] for h in hits if h[2]})))}
    found = [Birthday(on, people[customer_id], contacts.get(contact_id), lunar)
             for on, customer_id, contact_id, lunar in hits]
    found.sort(key=lambda b: (b.on, b.name))
    return found


def week_of(day: date) -> tuple[date, int]:
    """This week (Monday to Sunday) as (first day, number of days)."""
    return day - timedelta(days=day.weekday()), 7


def month_of(day: date) -> tuple[date, int]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, (following - first).days


@dataclass
class Valuable:
    customer: Customer
    feedback: Feedback
    thanked_on: date | None


def valuable_customers(customers: Select, limit: int = LIST_LIMIT) -> list[Valuable]:
    """Customers whose feedback was marked valuable, newest first, each with the last
    thank-you given since (none yet: still to be thanked)."""
    # Joined to the customers and narrowed by the scope's own conditions: the newest
    # valuable feedback is walked by index and each customer checked by its key.
    query = (select(Feedback).join(Customer, Customer.id == Feedback.customer_id)
             .where(Feedback.valuable.is_(True)))
    if customers.whereclause is not None:
        query = query.where(customers.whereclause)
    rows = db.session.scalars(
        query.options(joinedload(Feedback.customer).joinedload(Customer.owner))
        .order_by(Feedback.received_at.desc(), Feedback.id.desc()).limit(limit * 2)).all()
    thanks = dict(db.session.execute(
        select(CareGesture.customer_id, func.max(CareGesture.given_on))
        .where(CareGesture.occasion == Occasion.THANKS,
               CareGesture.customer_id.in_({f.customer_id for f in rows}))
        .group_by(CareGesture.customer_id)).all()) if rows else {}
    seen, result = set(), []
    for feedback in rows:
        if feedback.customer_id in seen:
            continue
        seen.add(feedback.customer_id)
        thanked = thanks.get(feedback.customer_id)
        received = feedback.received_at.date()
        result.append(Valuable(feedback.customer, feedback,
                               thanked if thanked and thanked >= received else None))
    return result[:limit]


def silent_key_customers(customers: Select, silent_days: int, now: datetime | None = None,
                         limit: int = LIST_LIMIT) -> list[Customer]:
    """Key customers nobody has contacted for `silent_days` days: never contacted first,
    then the quietest. Two queries, each walking the (tier, last contact, id) index in order
    and stopping at `limit` (NULLs sort differently in SQLite and PostgreSQL: asked apart)."""
    since = (now or utcnow()) - timedelta(days=silent_days)
    key = customers.where(Customer.tier == Tier.KEY, Customer.owner_id.is_not(None)
                          ).options(joinedload(Customer.owner))
    never = list(db.session.scalars(key.where(Customer.last_contact_at.is_(None))
                                    .order_by(Customer.id).limit(limit)))
    quiet = list(db.session.scalars(key.where(Customer.last_contact_at < since)
                                    .order_by(Customer.last_contact_at, Customer.id)
                                    .limit(max(limit - len(never), 0) or 1)))
    return (never + quiet)[:limit]


def narrow_to(customers: Select, *, team: Team | None = None, owner: User | None = None
              ) -> Select:
    if owner is not None:
        return customers.where(Customer.owner_id == owner.id)
    if team is not None:
        return customers.where(Customer.owner_id.in_(
            select(User.id).where(User.team_id.in_(
                select(Team.id).where(Team.path.startswith(team.path))))))
    return customers


# Greetings and gifts -------------------------------------------------------------------------

def record_gesture(customer: Customer, by_user, *, kind: GestureKind, occasion: Occasion,
                   what: str, given_on: date, member_day_id: int | None = None
                   ) -> CareGesture:
    what = (what or "").strip()
    if not what:
        raise DomainError(_l("Say what was given or said."), field="what")
    if given_on > local_today() + timedelta(days=1):
        raise DomainError(_l("Record a greeting or gift once it is given."), field="given_on")
    gesture = CareGesture(customer_id=customer.id, kind=kind, occasion=occasion, what=what,
                          given_on=given_on, member_day_id=member_day_id,
                          by_user_id=by_user.id)
    db.session.add(gesture)
    db.session.flush()
    return gesture


def gestures_of(customer_id: int, limit: int = 20) -> list[CareGesture]:
    return list(db.session.scalars(
        select(CareGesture).where(CareGesture.customer_id == customer_id)
        .options(joinedload(CareGesture.by_user))
        .order_by(CareGesture.given_on.desc(), CareGesture.id.desc()).limit(limit)))


# Member days ---------------------------------------------------------------------------------

def create_member_day(team: Team, by_user, *, name: str, day_of_month: int, offer: str,
                      tiers: list[str]) -> MemberDay:
    if not tiers:
        raise DomainError(_l("Choose at least one tier."), field="tiers")
    if not 1 <= day_of_month <= 28:
        raise DomainError(_l("Choose a day from 1 to 28 (every month has it)."),
                          field="day_of_month")
    member_day = MemberDay(team_id=team.id, name=name.strip(), day_of_month=day_of_month,
                           offer=offer.strip(), tiers=[Tier(t).value for t in tiers],
                           created_by_id=by_user.id)
    db.session.add(member_day)
    db.session.flush()
    return member_day


def next_occurrence(member_day: MemberDay, today: date) -> date:
    this_month = today.replace(day=member_day.day_of_month)
    if this_month >= today:
        return this_month
    return (today.replace(day=1) + timedelta(days=32)).replace(day=member_day.day_of_month)


def reached_customers(member_day: MemberDay, customers: Select) -> Select:
    """The customers a member day reaches: owned within its team's tree, of its tiers, and
    visible to whoever asks (`customers`)."""
    team = db.session.get(Team, member_day.team_id)
    return (narrow_to(customers, team=team)
            .where(Customer.tier.in_([Tier(t) for t in member_day.tiers]))
            .options(joinedload(Customer.owner)).order_by(Customer.name, Customer.id))
