"""What Today lists for one person: revisits and tasks due, birthdays coming: a query each."""

import functools
from datetime import date

from sqlalchemy import select, union_all
from sqlalchemy.orm import joinedload

from crm.accounts.teams import rules_for
from crm.customers.models import Contact, Customer
from crm.extensions import db
from crm.followups.models import Revisit
from crm.reminders.models import Task
from crm.reminders.sweeps import _revisit_pending, birthday_candidates


def revisits_due(user, today: date, limit: int = 20) -> list[Revisit]:
    return list(db.session.scalars(
        select(Revisit).join(Customer, Customer.id == Revisit.customer_id)
        .where(Customer.owner_id == user.id, Revisit.due_on <= today, _revisit_pending())
        .options(joinedload(Revisit.customer))
        .order_by(Revisit.due_on, Revisit.id).limit(limit)))


def tasks_due(user, today: date, limit: int = 30) -> list[Task]:
    return list(db.session.scalars(
        select(Task).where(Task.assignee_id == user.id, Task.done_at.is_(None),
                           Task.due_on <= today)
        .options(joinedload(Task.customer), joinedload(Task.created_by))
        .order_by(Task.due_on, Task.due_time, Task.id).limit(limit)))


@functools.lru_cache(maxsize=32)
def _birthdays_falling(first: date, days: int) -> dict[tuple[date, bool], date]:
    """{(date of birth, lunar): the day it falls on} for [first, first + days): the same
    for everybody on a given day, and some nine hundred lunar conversions to build."""
    return {(born, lunar): on for born, lunar, on in birthday_candidates(first, days)}


def birthdays_soon(user, today: date, days: int | None = None, limit: int = 20) -> list[tuple]:
    """[(falls on, name, customer id, customer name, lunar)] of the user's customers and
    their contacts whose birthday comes within the team's days: one query through the
    owner's index (a book is bounded by the holding limit), matched against the calendar
    here rather than sent as a list of every date of birth that qualifies."""
    days = rules_for(user).birthday_days if days is None else days
    falls = _birthdays_falling(today, days)
    if not falls:
        return []
    own = (select(Customer.birthday, Customer.birthday_lunar, Customer.name, Customer.id,
                  Customer.name)
           .where(Customer.owner_id == user.id, Customer.birthday.is_not(None)))
    contacts = (select(Contact.birthday, Contact.birthday_lunar, Contact.name, Customer.id,
                       Customer.name)
                .join(Customer, Customer.id == Contact.customer_id)
                .where(Customer.owner_id == user.id, Contact.birthday.is_not(None)))
    found = [(falls[(birthday, lunar)], name, customer_id, customer_name, lunar)
             for birthday, lunar, name, customer_id, customer_name
             in db.session.execute(union_all(own, contacts))
             if (birthday, lunar) in falls]
    return sorted(found, key=lambda row: (row[0], row[1]))[:limit]
