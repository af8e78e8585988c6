"""Reminders under real conditions: the command run twice, Redis away while a visit is
logged, two workers at once, and a worker killed in the middle of a sweep."""

import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crm.accounts.models import User
from crm.customers.models import Customer
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.notifications.models import Notification
from crm.reminders import jobs
from tests.test_reminders import _local_today

ROOT = Path(__file__).resolve().parent.parent


def _count(kind=None) -> int:
    query = select(func.count()).select_from(Notification)
    if kind:
        query = query.where(Notification.kind == kind)
    return db.session.scalar(query)


def _due_follow_ups(owner_id: int, count: int) -> None:
    today = _local_today()
    customers = [Customer(name=f"批量{n}", owner_id=owner_id) for n in range(count)]
    db.session.add_all(customers)
    db.session.flush()
    db.session.execute(FollowUp.__table__.insert(), [
        {"customer_id": c.id, "author_id": owner_id, "kind": "visit",
         "occurred_at": datetime(2026, 1, 1, tzinfo=UTC), "summary": "x", "next_date": today,
         "created_at": datetime(2026, 1, 1, tzinfo=UTC), "version": 1} for c in customers])
    db.session.commit()


def test_reminders_run_twice_creates_nothing_new(app, world):
    with app.app_context():
        _due_follow_ups(world.rep2.id, 3)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["reminders", "run"])
    assert first.exit_code == 0, first.output
    assert "follow_ups_due       3" in first.output
    second = runner.invoke(args=["reminders", "run"])
    assert second.exit_code == 0
    counts = [line.split()[-1] for line in second.output.splitlines()
              if line and not line.startswith("deliveries")]
    assert set(counts) == {"0"}, second.output


def test_digest_command_needs_smtp(app, world):
    result = app.test_cli_runner().invoke(args=["reminders", "digest", "--email",
                                                "rep@example.test"])
    assert result.exit_code != 0 and "SMTP_URL" in result.output


@pytest.fixture
def app_config(request):
    if "redis_down" in request.node.name:
        return {"REDIS_URL": "redis://127.0.0.1:9/0"}  # nothing listens on port 9
    return {}


def test_redis_down_while_a_rep_logs_a_visit(app, world, login_as):
    rep2 = login_as("rep2")
    today = _local_today()
    response = rep2.post_form(f"/customers/{world.customers.rep2}/follow-ups", {
        "kind": "visit", "occurred_at": (datetime.now() - timedelta(minutes=5)).strftime(
            "%Y-%m-%dT%H:%M"), "summary": "拜访，谈了报价", "next_date": today.isoformat()})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    # Redis is back (the worker's next run): the reminder appears, once.
    with app.app_context():
        jobs.run_reminders()
        jobs.run_reminders()
        notes = db.session.scalars(select(Notification).where(
            Notification.kind == "followup_due", Notification.user_id == world.rep2.id)).all()
        assert len(notes) == 1


@pytest.mark.committed
def test_two_workers_at_once_notify_once(app, world):
    with app.app_context():
        _due_follow_ups(world.rep2.id, 200)
    errors = []

    def worker():
        try:
            with app.app_context():
                jobs.run_reminders()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    with app.app_context():
        assert _count("followup_due") == 200
        assert db.session.scalar(select(func.count(func.distinct(Notification.dedupe_key)))) \
            == _count()


@pytest.mark.committed
def test_a_worker_killed_mid_sweep_then_restarted_duplicates_nothing(app, world, spawn,
                                                                      database_url, redis_url):
    with app.app_context():
        _due_follow_ups(world.rep2.id, 3000)
        before = _count()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    process = spawn([sys.executable, "-m", "flask", "--app", "app", "reminders", "run"],
                    cwd=ROOT, env=env, stdout=open(os.devnull, "w"), stderr=open(os.devnull, "w"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        with app.app_context():
            if _count() > before:
                break
        time.sleep(0.05)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    with app.app_context():
        jobs.run_reminders()
        jobs.run_reminders()
        assert _count("followup_due") == 3000
        assert db.session.scalar(select(func.count(func.distinct(Notification.dedupe_key)))) \
            == _count()
        assert db.session.get(User, world.rep2.id) is not None


REMINDER_KINDS = {"followup_due", "followup_overdue", "followup_escalated", "revisit_due",
                  "revisit_overdue", "revisit_escalated", "birthday", "protection_ending",
                  "pool_returned", "reviews_waiting", "recheck_due", "a_drought",
                  "task_assigned", "task_due", "task_overdue", "task_escalated",
                  "review_finished", "review_reply", "review_acknowledged"}


def test_the_demo_makes_every_kind_of_notification(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        kinds = set(db.session.scalars(select(Notification.kind).distinct()))
        assert REMINDER_KINDS - {str(k) for k in kinds} == set()
        rep = db.session.scalar(select(User).where(User.email == "rep@demo.local"))
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == rep.id, Notification.read_at.is_(None))) >= 8
