"""The notification centre, tasks, reminder preferences, and the work-chat test message."""

from datetime import time

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select, update

from crm import access, clock
from crm.accounts.models import Team, User
from crm.clock import utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.forms import choices
from crm.htmx import redirect_after_post, render_page
from crm.navigation import safe_next_url
from crm.notifications.models import NOTIFICATION_LABELS, Notification, NotificationKind
from crm.pagination import keyset_page
from crm.params import int_arg
from crm.reminders import preferences as prefs
from crm.reminders import texts
from crm.reminders.forms import PreferencesForm, SnoozeForm, TaskForm
from crm.reminders.models import Task
from crm.reminders.tasks import complete_task, create_task, snooze_task
from crm.saving import run_change, save_form, saved_and_go

bp = Blueprint("reminders", __name__)


@bp.before_request
@login_required
def _signed_in_only():
    return None


# The notification centre -------------------------------------------------------------

@bp.get("/notifications")
def index():
    kind = request.args.get("kind")
    kind = kind if kind in {k.value for k in NotificationKind} else None
    unread_only = request.args.get("unread") == "1"
    query = access.notifications_scope(current_user)
    if kind:
        query = query.where(Notification.kind == kind)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    page = keyset_page(query, [Notification.created_at.desc(), Notification.id.desc()],
                       request.args.get("after"), limit=30)
    names = texts.names_for(current_user, page.items)
    today = clock.local_today()
    rows = [(n, texts.describe(n, names, today)) for n in page.items]
    return render_page("reminders/index.html", "reminders/_rows.html", rows=rows, page=page,
                       kind=kind, unread_only=unread_only, labels=NOTIFICATION_LABELS)


@bp.post("/notifications/<int:notification_id>/open")
def open_notification(notification_id: int):
    """Mark it read and go where it points."""
    notification = access.notification_or_404(current_user, notification_id)
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.commit()
    return redirect(safe_next_url(notification.link, url_for("reminders.index")), 303)


@bp.post("/notifications/<int:notification_id>/read")
def mark_read(notification_id: int):
    notification = access.notification_or_404(current_user, notification_id)
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.commit()
    return redirect_after_post(safe_next_url(request.form.get("back"),
                                             url_for("reminders.index")))


@bp.post("/notifications/read-all")
def mark_all_read():
    db.session.execute(update(Notification).where(
        Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    return saved_and_go(safe_next_url(request.form.get("back"), url_for("reminders.index")),
                        _("All notifications marked as read."))


# Preferences ---------------------------------------------------------------------------

def _kind_choices():
    return choices((k.value, NOTIFICATION_LABELS[k]) for k in NotificationKind
                   if k in NOTIFICATION_LABELS)


@bp.get("/notifications/preferences")
def preferences():
    saved = prefs.preferences_of(current_user.id)
    off = prefs.off_kinds(saved)
    form = PreferencesForm(
        digest_enabled=saved.digest_enabled,
        digest_time=time(saved.digest_minute // 60, saved.digest_minute % 60),
        digest_kinds=[k.value for k in NotificationKind if k.value not in off],
        quiet_days=[int(d) for d in saved.quiet_days.split(",") if d],
        version=saved.version or 0)
    form.digest_kinds.choices = _kind_choices()
    return render_page("reminders/preferences.html", form=form)


@bp.post("/notifications/preferences")
def save_preferences():
    form = PreferencesForm()
    form.digest_kinds.choices = _kind_choices()

    def save():
        moment = form.digest_time.data
        return prefs.save_preferences(
            current_user.id, digest_enabled=form.digest_enabled.data,
            digest_minute=moment.hour * 60 + moment.minute,
            digest_kinds=form.digest_kinds.data or [], quiet_days=form.quiet_days.data or [])

    return save_form(form, save,
                     page=lambda status, **_k: render_page("reminders/preferences.html",
                                                           form=form, status=status),
                     done=lambda _p: saved_and_go(url_for("reminders.preferences"),
                                                  _("Preferences saved.")))


# Tasks ---------------------------------------------------------------------------------

def _task_form(**kwargs) -> TaskForm:
    form = TaskForm(**kwargs)
    people = db.session.scalars(access.task_assignees(current_user)).all()
    form.assignee_id.choices = choices(
        (u.id, _("Me") if u.id == current_user.id else u.name) for u in people)
    form.people = {u.id: u for u in people}
    return form


def _subject(form: TaskForm):
    """The customer or deal the task is on, if any, loaded through access."""
    customer = deal = None
    if form.deal_id.data:
        deal = access.deal_or_404(current_user, form.deal_id.data)
        customer = deal.customer
    elif form.customer_id.data:
        customer = access.customer_or_404(current_user, form.customer_id.data)
    return customer, deal


@bp.get("/tasks")
def tasks():
    mine = db.session.scalars(
        access.tasks_scope(current_user).where(Task.assignee_id == current_user.id,
                                               Task.done_at.is_(None))
        .order_by(Task.due_on, Task.due_time, Task.id).limit(100)).all()
    given = db.session.scalars(
        access.tasks_scope(current_user).where(Task.created_by_id == current_user.id,
                                               Task.assignee_id != current_user.id)
        .order_by(Task.done_at.is_not(None), Task.due_on, Task.id).limit(100)).all()
    _load_people(mine + given)
    return render_page("reminders/tasks.html", mine=mine, given=given,
                       today=clock.local_today(), snooze=SnoozeForm())


def _load_people(tasks: list[Task]) -> None:
    ids = {t.assignee_id for t in tasks} | {t.created_by_id for t in tasks}
    if ids:
        db.session.scalars(select(User).where(User.id.in_(ids))).all()


@bp.get("/tasks/new")
def new_task():
    form = _task_form(due_on=clock.local_today(),
                      customer_id=int_arg(request.args, "customer_id"),
                      deal_id=int_arg(request.args, "deal_id"))
    customer, deal = _subject(form)
    return render_page("reminders/task_new.html", form=form, customer=customer, deal=deal)


@bp.post("/tasks")
def create_task_view():
    form = _task_form()
    customer, deal = _subject(form)

    def create():
        if form.assignee_id.data is None:
            assignee = current_user
        elif form.assignee_id.data in form.people:
            assignee = form.people[form.assignee_id.data]
        else:
            raise DomainError(_("Choose someone from the list."), field="assignee_id")
        return create_task(current_user, assignee, title=form.title.data,
                           due_on=form.due_on.data, due_time=form.due_time.data,
                           customer_id=customer.id if customer else None,
                           deal_id=deal.id if deal else None, note=form.note.data)

    return save_form(form, create,
                     page=lambda status, **_k: render_page(
                         "reminders/task_new.html", form=form, customer=customer, deal=deal,
                         status=status),
                     done=lambda task: saved_and_go(url_for("reminders.show_task",
                                                            task_id=task.id),
                                                    _("Task saved.")))


@bp.get("/tasks/<int:task_id>")
def show_task(task_id: int):
    task = access.task_or_404(current_user, task_id)
    return render_page("reminders/task.html", task=task, snooze=SnoozeForm(),
                       today=clock.local_today(),
                       may_work=access.may_work_task(current_user, task))


@bp.post("/tasks/<int:task_id>/done")
def complete(task_id: int):
    task = access.task_or_404(current_user, task_id, to_work=True)
    back = safe_next_url(request.form.get("back"), url_for("reminders.tasks"))
    return run_change(lambda: complete_task(task, current_user),
                      done=lambda _t: saved_and_go(back, _("Task done.")), refused_url=back)


@bp.post("/tasks/<int:task_id>/snooze")
def snooze(task_id: int):
    task = access.task_or_404(current_user, task_id, to_work=True)
    form = SnoozeForm()
    back = safe_next_url(request.form.get("back"), url_for("reminders.tasks"))
    if not form.validate_on_submit():
        return render_page("reminders/task.html", task=task, snooze=form,
                           today=clock.local_today(), may_work=True, status=422)
    return run_change(lambda: snooze_task(task, current_user, form.days.data,
                                          clock.local_today()),
                      done=lambda _t: saved_and_go(back, _("Task snoozed.")), refused_url=back)


# The team's work chat ------------------------------------------------------------------

@bp.post("/teams/<int:team_id>/chat-test")
@access.requires(access.may_manage_deliveries)
def chat_test(team_id: int):
    from crm.reminders import chat

    team = db.session.get(Team, team_id) or abort(404)
    back = url_for("admin.edit_team", team_id=team.id)
    return run_change(lambda: chat.send_test_message(team),
                      done=lambda _r: saved_and_go(back, _("Test message sent.")),
                      refused_url=back)


@bp.post("/system/deliveries/<int:delivery_id>/retry")
@access.requires(access.may_manage_deliveries)
def retry_delivery(delivery_id: int):
    from crm.reminders import delivery

    delivery.retry_now(delivery_id)
    db.session.commit()
    return saved_and_go(url_for("system.index"), _("The delivery is queued again."))
