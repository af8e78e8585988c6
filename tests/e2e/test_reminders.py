"""Reminders on a phone: Today lists what is due, the notification centre, marking read, and
a task a manager gives that the rep completes."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from crm.accounts.models import User
from crm.clock import utcnow
from crm.customers.models import Customer
from crm.extensions import db
from crm.followups.logging import log_follow_up
from crm.followups.models import FollowUpKind
from crm.reminders import sweeps
from crm.reminders.models import Task

pytestmark = pytest.mark.parametrize("viewport", ["phone"], indirect=True)


def test_today_and_the_notification_centre(page, live_server, app, world, shot, sign_in):
    with app.app_context():
        log_follow_up(db.session.get(Customer, world.customers.rep2),
                      db.session.get(User, world.rep2.id), kind=FollowUpKind.CALL,
                      occurred_at=utcnow() - timedelta(days=3), summary="电话沟通",
                      next_step="上门演示", next_date=utcnow().date() - timedelta(days=2))
        db.session.add(Task(title="整理报价", assignee_id=world.rep2.id,
                            created_by_id=world.rep2.id,
                            due_on=utcnow().date() - timedelta(days=1)))
        db.session.flush()
        sweeps.run_all()
        db.session.commit()
    sign_in(world.rep2.email)
    expect(page.locator("#due")).to_contain_text("李四")
    expect(page.locator("#due")).to_contain_text("逾期")
    shot("today-due")
    badge = page.locator(".bottomnav [data-unread]")
    expect(badge).to_have_text("2")  # the follow-up overdue, the task due
    page.click(".bottomnav a:has-text('通知')")
    rows = page.locator("#notification-rows li.notification")
    expect(rows).to_have_count(2)
    expect(page.locator("#notification-rows")).to_contain_text("李四")
    shot("notification-centre")
    rows.first.locator("button:has-text('标为已读')").click()
    expect(page.locator(".bottomnav [data-unread]")).to_have_text("1")
    page.select_option("select[name=kind]", "followup_overdue")
    page.click("button:has-text('筛选')")
    expect(page.locator("#notification-rows li.notification")).to_have_count(1)
    page.click("#notification-rows li.notification .notification-open button")
    expect(page).to_have_url(f"{live_server}/customers/{world.customers.rep2}")
    expect(page.locator(".bottomnav [data-unread]")).to_have_count(0)


def test_a_manager_assigns_a_task_and_the_rep_completes_it(page, live_server, world, shot,
                                                           sign_in):
    sign_in(world.manager.email)
    page.goto(f"{live_server}/tasks/new")
    page.fill("#title", "把报价单发给张三")
    page.select_option("#assignee_id", label="Rep")
    shot("task-new")
    page.click("button:has-text('保存任务')")
    expect(page.locator(".flash-success")).to_be_visible()

    page.context.clear_cookies()
    sign_in(world.rep.email)
    expect(page.locator("#tasks-due")).to_contain_text("把报价单发给张三")
    expect(page.locator(".bottomnav [data-unread]")).to_have_text("1")  # task assigned
    shot("today-task")
    page.locator("#tasks-due button:has-text('完成')").click()
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("#tasks-due")).to_have_count(0)

    page.context.clear_cookies()
    sign_in(world.manager.email)
    page.goto(f"{live_server}/tasks")
    expect(page.locator("#given-tasks .badge.done")).to_have_count(1)
