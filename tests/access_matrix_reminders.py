"""Access-matrix rows for reminders: the notification centre (each person their own),
tasks (the assignee, who gave it, managers above the assignee), preferences, and the admins'
work-chat test and delivery retry. The task and the notification are the rep's, the task
given by their manager; both are made on first use in the test's transaction."""

from datetime import date

from tests.access_matrix import TO_LOGIN, Route, only, signed_in

# The rep's task from the manager: the rep, the manager and the region manager above.
SEES_REPS_TASK = {"anonymous": TO_LOGIN, "rep": 200, "rep2": 404, "manager": 200,
                  "region_manager": 200, "rep3": 404, "manager2": 404, "office": 404,
                  "admin": 404}
WORKS_REPS_TASK = {role: (303 if status == 200 else status)
                   for role, status in SEES_REPS_TASK.items()}
ONLY_THE_REP = {"anonymous": TO_LOGIN, "rep": 303, "rep2": 404, "manager": 404,
                "region_manager": 404, "rep3": 404, "manager2": 404, "office": 404,
                "admin": 404}


def _made(w, name, make):
    if not hasattr(w, name):
        from crm.extensions import db
        from tests.conftest import _APPS

        app = _APPS[()]
        with app.app_context():
            row = make(w)
            db.session.add(row)
            db.session.commit()
            setattr(w, name, row.id)
    return getattr(w, name)


def _task(w) -> int:
    from crm.reminders.models import Task

    return _made(w, "_task", lambda w: Task(title="回电", assignee_id=w.rep.id,
                                           created_by_id=w.manager.id, due_on=date.today()))


def _notification(w) -> int:
    from crm.notifications.models import Notification

    return _made(w, "_notification", lambda w: Notification(
        user_id=w.rep.id, kind="followup_due", dedupe_key="matrix:1",
        link=f"/customers/{w.customers.rep}", customer_id=w.customers.rep))


REMINDER_ROUTES: list[Route] = [
    Route("GET", "/notifications", signed_in(200)),
    Route("GET", "/notifications/preferences", signed_in(200)),
    Route("POST", "/notifications/preferences", signed_in(303),
          data=lambda w: {"digest_enabled": "y", "digest_time": "07:30",
                          "digest_kinds": ["followup_due"], "quiet_days": ["7"],
                          "version": "0"}),
    Route("POST", "/notifications/<int:notification_id>/open", ONLY_THE_REP,
          url=lambda w: f"/notifications/{_notification(w)}/open"),
    Route("POST", "/notifications/<int:notification_id>/read", ONLY_THE_REP,
          url=lambda w: f"/notifications/{_notification(w)}/read"),
    Route("POST", "/notifications/read-all", signed_in(303)),
    Route("GET", "/tasks", signed_in(200)),
    Route("GET", "/tasks/new", signed_in(200)),
    Route("POST", "/tasks", signed_in(303),
          data=lambda w: {"title": "准备报价", "due_on": date.today().isoformat(),
                          "assignee_id": ""}),
    Route("GET", "/tasks/<int:task_id>", SEES_REPS_TASK, url=lambda w: f"/tasks/{_task(w)}"),
    Route("POST", "/tasks/<int:task_id>/snooze", WORKS_REPS_TASK,
          url=lambda w: f"/tasks/{_task(w)}/snooze", data=lambda w: {"days": "1"}),
    Route("POST", "/tasks/<int:task_id>/done", WORKS_REPS_TASK,
          url=lambda w: f"/tasks/{_task(w)}/done"),
    Route("POST", "/teams/<int:team_id>/chat-test", only(("admin",), 303),
          url=lambda w: f"/teams/{w.teams.sh1}/chat-test"),
    Route("POST", "/system/deliveries/<int:delivery_id>/retry", only(("admin",), 303),
          url=lambda w: "/system/deliveries/999999/retry"),
]
