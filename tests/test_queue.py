"""The queue: jobs enqueued after commit, run by a real RQ worker on the real Redis."""

from datetime import timedelta

import pytest
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select

from crm.accounts.models import UserSession
from crm.clock import utcnow
from crm.extensions import db
from crm.queue import enqueue_after_commit, get_queue, make_worker


def test_job_is_enqueued_only_after_commit(app):
    with app.app_context():
        enqueue_after_commit("crm.accounts.jobs.prune_expired_sessions")
        assert get_queue().count == 0
        db.session.commit()
        assert get_queue().count == 1


def test_rollback_drops_the_job(app):
    with app.app_context():
        enqueue_after_commit("crm.accounts.jobs.prune_expired_sessions")
        db.session.rollback()
        db.session.commit()
        assert get_queue().count == 0


def test_savepoint_rollback_keeps_the_outer_job(app):
    with app.app_context():
        enqueue_after_commit("crm.accounts.jobs.prune_expired_sessions")
        with db.session.begin_nested() as savepoint:
            savepoint.rollback()
        db.session.commit()
        assert get_queue().count == 1


def _queued_ids(app):
    with app.app_context():
        return set(get_queue().job_ids)


def test_job_in_a_rolled_back_savepoint_is_dropped(app):
    with app.app_context():
        enqueue_after_commit("crm.accounts.jobs.prune_expired_sessions", job_id="outer")
        savepoint = db.session.begin_nested()
        enqueue_after_commit("crm.accounts.jobs.prune_expired_sessions", job_id="inner")
        savepoint.rollback()
        db.session.commit()
    assert _queued_ids(app) == {"outer"}


def test_released_savepoint_waits_for_the_outer_commit(app):
    with app.app_context():
        with db.session.begin_nested():
            enqueue_after_commit("crm.accounts.jobs.prune_expired_sessions", job_id="inner")
        assert get_queue().count == 0  # released, but nothing is committed yet
        db.session.rollback()
        db.session.commit()
    assert _queued_ids(app) == set()

    with app.app_context():
        with db.session.begin_nested():
            enqueue_after_commit("crm.accounts.jobs.prune_expired_sessions", job_id="inner")
        db.session.commit()
    assert _queued_ids(app) == {"inner"}


def test_closing_the_session_drops_uncommitted_jobs(app):
    with app.app_context():
        enqueue_after_commit("crm.accounts.jobs.prune_expired_sessions", job_id="lost")
        db.session.close()
        db.session.commit()
    assert _queued_ids(app) == set()


def test_worker_runs_a_job_in_an_app_context(app, world):
    with app.app_context():
        db.session.add(UserSession(token="old", user_id=world.rep.id,
                                   expires_at=utcnow() - timedelta(days=1)))
        db.session.add(UserSession(token="live", user_id=world.rep.id,
                                   expires_at=utcnow() + timedelta(days=1)))
        enqueue_after_commit("crm.accounts.jobs.prune_expired_sessions")
        db.session.commit()

    worker = make_worker(app, simple=True)
    assert worker.work(burst=True)
    with app.app_context():
        tokens = set(db.session.scalars(select(UserSession.token)))
        assert tokens == {"live"}
        assert FailedJobRegistry(queue=get_queue()).count == 0


def explode():
    raise RuntimeError("boom for the failed-jobs list")


def test_failing_job_is_recorded_and_can_be_retried(app, world, login_as):
    with app.app_context():
        job = get_queue().enqueue("tests.test_queue.explode")
    make_worker(app, simple=True).work(burst=True)
    with app.app_context():
        assert job.id in FailedJobRegistry(queue=get_queue()).get_job_ids()

    admin = login_as("admin")
    page = admin.get("/system").get_data(as_text=True)
    assert "tests.test_queue.explode" in page
    assert "boom for the failed-jobs list" in page
    response = admin.post_form(f"/system/jobs/default/{job.id}/retry")
    assert response.status_code == 303
    with app.app_context():
        assert get_queue().count == 1
        assert job.id not in FailedJobRegistry(queue=get_queue()).get_job_ids()


@pytest.mark.parametrize("queue_name", ["default", "reports"])
def test_queues_exist(app, queue_name):
    with app.app_context():
        assert get_queue(queue_name).name == queue_name


def test_sessions_table_starts_empty(app):
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0
