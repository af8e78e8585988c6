"""Tasks: reminders people set for themselves or managers give to those they lead."""

from datetime import date, time, timedelta

from flask_babel import lazy_gettext as _l

from crm import access
from crm.clock import utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.notifications.inbox import notify
from crm.notifications.models import NotificationKind
from crm.reminders.models import Task

SNOOZE_DAYS = (1, 3, 7)


def create_task(by, assignee, *, title: str, due_on: date, due_time: time | None = None,
                customer_id: int | None = None, deal_id: int | None = None,
                note: str | None = None) -> Task:
    title = (title or "").strip()
    if not title:
        raise DomainError(_l("Say what is to be done."), field="title")
    if assignee.id != by.id and not access.manages(by, assignee):
        raise DomainError(_l("You may give tasks only to the people you lead."),
                          field="assignee_id")
    task = Task(title=title[:200], note=(note or "").strip() or None, assignee_id=assignee.id,
                created_by_id=by.id, customer_id=customer_id, deal_id=deal_id, due_on=due_on,
                due_time=due_time)
    db.session.add(task)
    db.session.flush()
    if assignee.id != by.id:
        notify(assignee.id, NotificationKind.TASK_ASSIGNED,
               dedupe_key=f"task_assigned:{task.id}:{assignee.id}:new",
               link=f"/tasks/{task.id}", params={"person": by.name, "title": task.title},
               customer_id=customer_id, deal_id=deal_id)
    return task


def complete_task(task: Task, by) -> Task:
    if task.done_at is None:
        task.done_at, task.done_by_id = utcnow(), by.id
    return task


def snooze_task(task: Task, by, days: int, today: date) -> Task:
    """Put it off by some days from today (or from its date, if that is later)."""
    if task.done_at is not None:
        raise DomainError(_l("This task is already done."))
    if days not in SNOOZE_DAYS:
        raise DomainError(_l("Choose how long to snooze."), field="days")
    task.due_on = max(today, task.due_on) + timedelta(days=days)
    task.snoozed_times = (task.snoozed_times or 0) + 1
    return task
