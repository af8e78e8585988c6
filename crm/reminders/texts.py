"""What each notification says, in the reader's language: the centre, Today and the
digest read the same sentences. Customers' names are looked up when shown (and only those the
reader may still see), never copied into the notification."""

from datetime import date

from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from crm import access
from crm.customers.models import Contact, Customer
from crm.extensions import db
from crm.notifications.models import NOTIFICATION_LABELS, Notification, NotificationKind
from crm.reminders.models import Task
from crm.voice.models import KIND_LABELS as FEEDBACK_KIND_LABELS
from crm.voice.models import FeedbackKind

TASK_KINDS = ("task_due", "task_overdue", "task_escalated")


def _day(value) -> str:
    try:
        return format_date(date.fromisoformat(str(value)[:10]), "medium")
    except ValueError:
        return ""


def _days_late(params: dict, today: date) -> int:
    try:
        return (today - date.fromisoformat(str(params.get("due"))[:10])).days
    except ValueError:
        return 0


def names_for(user, notifications: list[Notification]) -> dict:
    """{"customers": {id: name}, "contacts": {id: name}} for what the user may still see: at
    most two queries, whatever the number of notifications."""
    customer_ids = {n.customer_id for n in notifications if n.customer_id}
    contact_ids = {(n.params or {}).get("contact_id") for n in notifications} - {None}
    task_ids = {(n.params or {}).get("subject") for n in notifications
                if n.kind in TASK_KINDS} - {None}
    names = {"customers": {}, "contacts": {}, "tasks": {}}
    if customer_ids:
        names["customers"] = dict(db.session.execute(
            access.customers_scope(user).with_only_columns(Customer.id, Customer.name)
            .where(Customer.id.in_(customer_ids))).all())
    if task_ids:
        names["tasks"] = dict(db.session.execute(
            access.tasks_scope(user).with_only_columns(Task.id, Task.title)
            .where(Task.id.in_(task_ids))).all())
    if contact_ids:
        names["contacts"] = dict(db.session.execute(
            select(Contact.id, Contact.name).join(Customer, Customer.id == Contact.customer_id)
            .where(Contact.id.in_(contact_ids), access.sees_customer(user))).all())
    return names


def describe(notification: Notification, names: dict, today: date) -> str:
    """One sentence for a notification."""
    kind = NotificationKind(notification.kind)
    params = notification.params or {}
    customer = names["customers"].get(notification.customer_id) or _("a customer")
    person = params.get("person") or ""
    late = _days_late(params, today)
    K = NotificationKind
    if kind == K.FOLLOWUP_DUE:
        return _("Follow up with %(customer)s today.", customer=customer) if late <= 0 else \
            _("Follow up with %(customer)s (planned for %(date)s).", customer=customer,
              date=_day(params.get("due")))
    if kind in (K.FOLLOWUP_OVERDUE, K.FOLLOWUP_ESCALATED):
        text = ngettext("Follow-up with %(customer)s is %(num)d day overdue.",
                        "Follow-up with %(customer)s is %(num)d days overdue.", late,
                        customer=customer)
        return f"{person}: {text}" if kind == K.FOLLOWUP_ESCALATED else text
    if kind == K.REVISIT_DUE:
        return _("After-sales revisit with %(customer)s is due (%(date)s).", customer=customer,
                 date=_day(params.get("due")))
    if kind in (K.REVISIT_OVERDUE, K.REVISIT_ESCALATED):
        text = ngettext("After-sales revisit with %(customer)s is %(num)d day overdue.",
                        "After-sales revisit with %(customer)s is %(num)d days overdue.", late,
                        customer=customer)
        return f"{person}: {text}" if kind == K.REVISIT_ESCALATED else text
    if kind == K.BIRTHDAY:
        who = names["contacts"].get(params.get("contact_id")) if params.get("contact_id") \
            else customer
        text = _("%(name)s's birthday is on %(date)s.", name=who or _("a contact"),
                 date=_day(params.get("on")))
        if params.get("contact_id"):
            text += " " + _("(contact of %(customer)s)", customer=customer)
        if params.get("lunar"):
            text += " " + _("(lunar calendar)")
        return text
    if kind == K.PROTECTION_ENDING:
        return _("Protection of %(customer)s ends on %(date)s.", customer=customer,
                 date=_day(params.get("until")))
    if kind == K.POOL_RETURNED:
        return _("%(customer)s went back to the public pool (protection of %(person)s ended).",
                 customer=customer, person=person)
    if kind == K.REVIEWS_WAITING:
        return ngettext("%(num)d recording waits for your review; the oldest since %(date)s.",
                        "%(num)d recordings wait for your review; the oldest since %(date)s.",
                        int(params.get("count") or 0), date=_day(params.get("oldest")))
    if kind == K.RECHECK_DUE:
        return _("Re-check due: %(text)s", text=params.get("text") or "")
    if kind == K.A_DROUGHT:
        return ngettext("%(team)s has had no new A deal for %(num)d day.",
                        "%(team)s has had no new A deal for %(num)d days.",
                        int(params.get("days") or 0), team=params.get("team") or "")
    if kind == K.TASK_ASSIGNED:
        return _("%(person)s gave you a task: %(title)s", person=person,
                 title=params.get("title") or "")
    if kind in (K.TASK_DUE, K.TASK_OVERDUE, K.TASK_ESCALATED):
        title = names["tasks"].get(params.get("subject")) or _("a task")
        if kind == K.TASK_DUE:
            return _("Task due: %(title)s", title=title)
        text = ngettext("Task %(num)d day overdue: %(title)s",
                        "Task %(num)d days overdue: %(title)s", late, title=title)
        return f"{person}: {text}" if kind == K.TASK_ESCALATED else text
    # Reviews, reports, routing and customer's voice: every kind has its sentence.
    if kind == K.REVIEW_FINISHED:
        return _("Your recording has a new review: open it to read the scores and comments.")
    if kind == K.REVIEW_REPLY:
        return _("Someone replied to your comment on a review.")
    if kind == K.REVIEW_ACKNOWLEDGED:
        return _("The rep acknowledged your review.")
    if kind == K.REPORT_READY:
        return _("Your team's report is ready to read and download.")
    if kind == K.LEAD_UNROUTED:
        count = int(params.get("count") or 1) if str(params.get("count") or "1").isdecimal() \
            else 1
        if count > 1:
            return ngettext("%(num)d new lead for %(team)s found no rep and waits in the pool.",
                            "%(num)d new leads for %(team)s found no rep and wait in the pool.",
                            count, team=params.get("team") or "")
        return _("New lead %(customer)s for %(team)s found no rep and waits in the pool.",
                 customer=customer, team=params.get("team") or "")
    if kind == K.FEEDBACK_ASSIGNED:
        try:
            what = FEEDBACK_KIND_LABELS[FeedbackKind(params.get("kind"))]
        except ValueError:
            what = _("Feedback")
        return _("%(kind)s from %(customer)s is yours to handle.", kind=what,
                 customer=customer)
    if kind == K.FEEDBACK_OVERDUE:
        return _("Feedback from %(customer)s is past its deadline.", customer=customer)
    return str(NOTIFICATION_LABELS.get(kind, kind.value))
