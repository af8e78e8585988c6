"""What Today lists for one person: revisits and tasks due, birthdays coming. A query each."""

from datetime import date

from sqlalchemy import select, tuple_
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


def birthdays_soon(user, today: date, limit: int = 20) -> list[tuple]:
    """[(falls on, name, customer, lunar)] of the user's customers and their contacts."""
    days = rules_for(user).birthday_days
    candidates = birthday_candidates(today, days)
    if not candidates:
        return []
    falls = {(born, lunar): on for born, lunar, on in candidates}
    pairs = list(falls)
    found = []
    for birthday, lunar, query in (
            (Customer.birthday, Customer.birthday_lunar,
             select(Customer, Customer)),
            (Contact.birthday, Contact.birthday_lunar,
             select(Contact, Customer).join(Customer, Customer.id == Contact.customer_id))):
        rows = db.session.execute(query.where(
            Customer.owner_id == user.id, birthday.is_not(None),
            tuple_(birthday, lunar).in_(pairs)).limit(limit)).all()
        for subject, customer in rows:
            on = falls[(subject.birthday, subject.birthday_lunar)]
            found.append((on, subject.name, customer, subject.birthday_lunar))
    return sorted(found, key=lambda row: (row[0], row[1]))[:limit]


