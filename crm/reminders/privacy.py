"""Reminders in a customer's export and erasure: tasks on the customer (or their deals),
notifications about them or whose parameters name them, and chat messages queued with such
parameters. Registered with crm.privacy on import.

A notification or chat message is the customer's when it points at them (their card, one of
their deals or tasks) or when a parameter holds their name (a batch of unrouted leads names
its first). Erasure deletes the first kind (the customer's own notifications are deleted by
crm.privacy.erasure already) and, in the second, replaces every parameter that names them.
"""

import json

from sqlalchemy import Text, cast, delete, or_, select, update

from crm.customers.models import Customer
from crm.extensions import db
from crm.notifications.models import Notification
from crm.pipeline.models import Deal
from crm.privacy import erasure, export
from crm.reminders.models import Delivery, Task

# A name this short would match other people's words; such names are found by id only.
MIN_NAME_LENGTH = 2


def _tasks_of(cid: int):
    deals = select(Deal.id).where(Deal.customer_id == cid)
    return or_(Task.customer_id == cid, Task.deal_id.in_(deals))


def _links(cid: int) -> list[str]:
    """The paths inside the app that lead to the customer or to what is theirs."""
    tasks = db.session.scalars(select(Task.id).where(_tasks_of(cid)))
    deals = db.session.scalars(select(Deal.id).where(Deal.customer_id == cid))
    return ([f"/customers/{cid}"] + [f"/tasks/{t}" for t in tasks]
            + [f"/deals/{d}" for d in deals])


def _name(cid: int) -> str | None:
    name = db.session.scalar(select(Customer.name).where(Customer.id == cid))
    name = (name or "").strip()
    return name if len(name) >= MIN_NAME_LENGTH else None


def _names_in(params_column, name: str | None):
    """The rows whose JSON parameters hold the name, as stored: JSON written by Python escapes
    non-ASCII characters, JSON built by the database does not."""
    if not name:
        return None
    text = cast(params_column, Text)
    escaped = json.dumps(name)[1:-1]
    return or_(text.contains(name, autoescape=True), text.contains(escaped, autoescape=True))


def _pointing_at(model, cid: int, links: list[str]):
    conditions = [model.link.in_(links)] if hasattr(model, "link") else []
    if model is Notification:
        conditions += [Notification.customer_id == cid, Notification.deal_id.in_(
            select(Deal.id).where(Deal.customer_id == cid))]
    else:  # a chat message's key holds the link it leads to: chat:team:kind:link:date
        conditions += [model.dedupe_key.like(f"%:{link}:%") for link in links]
    return or_(*conditions)


def _tasks(cid: int) -> list[dict]:
    return export.rows(select(Task).where(_tasks_of(cid)).order_by(Task.due_on, Task.id))


def _matching(model, cid: int):
    links = _links(cid)
    named = _names_in(model.params, _name(cid))
    condition = _pointing_at(model, cid, links)
    if named is not None:
        condition = or_(condition, named)
    return select(model).where(condition).order_by(model.id)


def _notifications(cid: int) -> list[dict]:
    return export.rows(_matching(Notification, cid))


def _deliveries(cid: int) -> list[dict]:
    rows = export.rows(_matching(Delivery, cid))
    for row in rows:
        row.pop("dedupe_key", None)
    return rows


def _scrub(params: dict | None, name: str) -> dict | None:
    if not params:
        return params
    return {key: erasure.REMOVED if isinstance(value, str) and name in value else value
            for key, value in params.items()}


def erase(cid: int) -> None:
    options = {"synchronize_session": False}
    name, links = _name(cid), _links(cid)
    db.session.execute(update(Task).where(_tasks_of(cid))
                       .values(title=erasure.REMOVED, note=None).execution_options(**options))
    db.session.execute(delete(Notification).where(_pointing_at(Notification, cid, links))
                       .execution_options(**options))
    db.session.execute(delete(Delivery).where(_pointing_at(Delivery, cid, links))
                       .execution_options(**options))
    if name is None:
        return
    for model in (Notification, Delivery):
        for row_id, params in db.session.execute(
                select(model.id, model.params).where(_names_in(model.params, name))).all():
            db.session.execute(update(model).where(model.id == row_id)
                               .values(params=_scrub(params, name))
                               .execution_options(**options))


export.SECTIONS.extend([("tasks", _tasks), ("notifications", _notifications),
                        ("chat_messages", _deliveries)])
erasure.ERASERS.append(erase)
