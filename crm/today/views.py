"""Today: the page every user lands on. Areas add their sections as they arrive."""

from flask import Blueprint
from flask_login import current_user, login_required

from crm import access, clock
from crm.accounts.teams import rules_for
from crm.clock import utcnow
from crm.customers import pool
from crm.followups.logging import follow_ups_due
from crm.htmx import render_page
from crm.metrics.summary import metric_label, metric_unit
from crm.pipeline.listing import open_deals_by_grade
from crm.reminders import agenda
from crm.reviews import worklist
from crm.today import attention

bp = Blueprint("today", __name__)


@bp.get("/")
@login_required
def index():
    may_log = access.may_hold_customers(current_user)
    rules = rules_for(current_user)  # held, so the sections below reuse the loaded team
    expiring = pool.expiring_soon(current_user) if may_log else []
    today = clock.local_today()
    due = follow_ups_due(current_user.id, today) if may_log else []
    grades = open_deals_by_grade(current_user.id) if may_log else {}
    return render_page("today/index.html", now=utcnow(), user=current_user, expiring=expiring,
                       days_left=pool.days_left, due=due, today=today, may_log=may_log,
                       open_deals=grades, team=_team_attention(today),
                       my_goals=_my_goals() if may_log else [], metric_label=metric_label,
                       metric_unit=metric_unit,
                       revisits=agenda.revisits_due(current_user, today) if may_log else [],
                       tasks=agenda.tasks_due(current_user, today),
                       birthdays=agenda.birthdays_soon(
                           current_user, today, rules.birthday_days)
                       if may_log else [])


def _my_goals() -> list:
    """The person's own goals running now, with progress (crm.goals)."""
    from crm.goals.progress import current_goals_of, progress_of

    goals = current_goals_of(current_user)
    progress = progress_of(goals) if goals else {}
    return [progress[goal.id] for goal in goals]


def _team_attention(today) -> dict | None:
    """A manager's part of Today: their people's work that waits on them."""
    if not access.may_review_recordings(current_user):
        return None
    return {
        "waiting": worklist.waiting(current_user),
        "reviewed_today": worklist.finished_since(current_user, clock.local_midnight()),
        "review_target": rules_for(current_user).daily_review_target,
        "rechecks": worklist.rechecks_due(current_user, today),
        "overdue": attention.overdue_by_person(current_user, today),
        "a_deals": attention.a_deals_without_next_step(current_user, today),
    }
