"""Health probes and the System page."""

import io

import pytest
from rq import Worker

from crm.queue import QUEUE_NAMES, get_queue, get_redis


def test_healthz_is_cheap_and_public(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_when_everything_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "ok"}


class TestRedisDown:
    @pytest.fixture
    def app_config(self):
        # A port nothing listens on: a real refused connection, not a mock. (The suite's own
        # Redis is still flushed before the test: the `app` fixture does not ask the app.)
        return {"REDIS_URL": "redis://127.0.0.1:1/0"}

    def test_readyz_stays_ready_and_reports_redis_down(self, client):
        # Every page works without Redis: a load balancer must not take the site out.
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json == {"status": "ok", "database": "ok", "redis": "down"}

    def test_import_works_without_redis(self, world, login_as):
        office = login_as("office")
        body = "姓名,手机\n无红先生,13512345678\n".encode()
        response = office.post_form("/customers/import", {
            "file": (io.BytesIO(body), "c.csv"), "owner_id": ""})
        assert response.status_code == 303, response.get_data(as_text=True)[:300]
        assert office.get(response.headers["Location"]).status_code == 200
        assert office.post_form(response.headers["Location"], {}).status_code == 303

    def test_system_page_still_renders(self, world, login_as):
        page = login_as("admin").get("/system", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        assert "Not answering" in page.get_data(as_text=True)


def _head_revision(app):
    from alembic.script import ScriptDirectory

    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        return ScriptDirectory.from_config(config).get_current_head()


def test_system_page_shows_backend_revision_workers_and_queues(app, world, login_as):
    with app.app_context():
        worker = Worker([get_queue()], connection=get_redis(), name="test-worker-1")
        worker.register_birth()
        get_queue("reports").enqueue("crm.accounts.jobs.prune_expired_sessions")
    try:
        page = login_as("admin").get("/system", headers={"Accept-Language": "en"})
        html = page.get_data(as_text=True)
        with app.app_context():
            from crm.extensions import db

            backend = db.engine.dialect.name
        assert backend in html
        assert f"<code>{_head_revision(app)}</code>" in html
        assert 'id="worker-count">1<' in html
        assert "test-worker-1" in html
        for name in QUEUE_NAMES:
            assert f'>{name}<' in html
    finally:
        with app.app_context():
            worker.register_death()


def test_system_page_polls_as_a_fragment(world, login_as):
    response = login_as("admin").get("/system", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.get_data(as_text=True)
