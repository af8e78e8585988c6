"""Customer care (客户关怀): whose birthday comes (solar or lunar), whom to thank for valuable
feedback, which key customers have gone quiet, member days and the greetings and gifts given."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

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

# A lunar birthday falls within about a month of its solar date of birth; candidates are read
# by month with this margin, then checked exactly.
LUNAR_MARGIN_DAYS = 45
LIST_LIMIT = 200


@dataclass
class Birthday:
    on: date
    customer: Customer
    contact: Contact | None
    lunar: bool

    @property
    def name(self) -> str:
        return self.contact.name if self.contact else self.customer.name


def _months(first: date, last: date) -> set[int]:
    months, day = set(), first.replace(day=1)
    while day <= last:
        months.add(day.month)
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def _month_filter(column, lunar_column, first: date, days: int):
    last = first + timedelta(days=days - 1)
    solar = _months(first, last)
    lunar = _months(first - timedelta(days=LUNAR_MARGIN_DAYS),
                    last + timedelta(days=LUNAR_MARGIN_DAYS))
    month = extract("month", column)
    return column.is_not(None) & ((lunar_column.is_(False) & month.in_(solar))
                                  | (lunar_column.is_(True) & month.in_(lunar)))


def birthdays(customers: Select, first: date, days: int) -> list[Birthday]:
    """Customers' and their contacts' birthdays from `first` for `days` days, soonest first.
    Two queries narrowed by month in SQL; the calendars are worked out for those rows."""
    ids = customers.with_only_columns(Customer.id)
    found = []
    for customer in db.session.scalars(
            select(Customer).where(Customer.id.in_(ids),
                                   _month_filter(Customer.birthday, Customer.birthday_lunar,
                                                 first, days))
            .options(joinedload(Customer.owner))):
        on = falls_within(customer.birthday, customer.birthday_lunar, first, days)
        if on:
            found.append(Birthday(on, customer, None, customer.birthday_lunar))
    for contact in db.session.scalars(
            select(Contact).where(Contact.customer_id.in_(ids),
                                  _month_filter(Contact.birthday, Contact.birthday_lunar,
                                                first, days))
            .options(joinedload(Contact.customer).joinedload(Customer.owner))):
        on = falls_within(contact.birthday, contact.birthday_lunar, first, days)
        if on:
            found.append(Birthday(on, contact.customer, contact, contact.birthday_lunar))
    found.sort(key=lambda b: (b.on, b.name))
    return found[:LIST_LIMIT]


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


def valuable_customers(customers: Select) -> list[Valuable]:
    """Customers whose feedback was marked valuable, newest first, each with the last
    thank-you given since (none yet: still to be thanked)."""
    ids = customers.with_only_columns(Customer.id)
    rows = db.session.scalars(
        select(Feedback).where(Feedback.valuable.is_(True), Feedback.customer_id.in_(ids))
        .options(joinedload(Feedback.customer).joinedload(Customer.owner))
        .order_by(Feedback.received_at.desc(), Feedback.id.desc()).limit(LIST_LIMIT)).all()
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
    return result


def silent_key_customers(customers: Select, silent_days: int,
                         now: datetime | None = None) -> list[Customer]:
    """Key customers nobody has contacted for `silent_days` days (or ever), quietest first."""
    since = (now or utcnow()) - timedelta(days=silent_days)
    ids = customers.with_only_columns(Customer.id)
    return list(db.session.scalars(
        select(Customer).where(Customer.id.in_(ids), Customer.tier == Tier.KEY,
                               Customer.owner_id.is_not(None),
                               Customer.last_contact_at.is_(None)
                               | (Customer.last_contact_at < since))
        .options(joinedload(Customer.owner))
        .order_by(Customer.last_contact_at.is_not(None), Customer.last_contact_at,
                  Customer.id).limit(LIST_LIMIT)))


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
