"""Passwords, sessions with an end, CSRF tokens that change at sign-in, private instance
files and an access log nobody can write lines into."""

import os
import stat
from datetime import timedelta

import pytest
from sqlalchemy import update

from crm.accounts.models import Role, User, UserSession
from crm.accounts.passwords import check_password_policy
from crm.clock import utcnow
from crm.errors import DomainError
from crm.extensions import db
from tests.conftest import PASSWORD


@pytest.mark.parametrize("password", [
    "12345678", "password", "password1234", "qwertyuiop", "1234567890", "iloveyou12",
    "woaini1314", "a123456789", "short-1",
])
def test_common_or_short_passwords_are_refused(app, password):
    with app.test_request_context(), pytest.raises(DomainError):
        check_password_policy(password)


def test_a_password_holding_the_email_or_name_is_refused(app):
    with app.test_request_context():
        for password in ("zhang.wei@corp.test", "zhang.wei-2026!", "Wangfang#Sales9"):
            with pytest.raises(DomainError) as refused:
                check_password_policy(password, email="zhang.wei@corp.test", name="Wangfang")
            assert "邮箱" in str(refused.value.message)
        check_password_policy("amber-gate-71-river", email="zhang.wei@corp.test", name="Wang")


def test_the_current_password_cannot_be_chosen_again(app, world, login_as):
    from crm.accounts.users import create_user

    with app.app_context():
        create_user(email="again@example.test", name="Again", role=Role.OFFICE,
                    password="amber-gate-71-river")
        db.session.commit()
    client = app.test_client()
    assert client.login("again@example.test", "amber-gate-71-river").status_code == 303
    response = client.post_form("/account/password", {
        "current_password": "amber-gate-71-river", "new_password": "amber-gate-71-river",
        "confirm": "amber-gate-71-river"}, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "must differ from the current one" in html


@pytest.mark.parametrize("password, message", [
    ("password1234", "太常见"), ("rep@example.test-1", "邮箱地址或姓名"), ("short", "10"),
])
def test_refusals_are_explained_in_chinese(world, login_as, password, message):
    client = login_as("rep")
    response = client.post_form("/account/password", {
        "current_password": PASSWORD, "new_password": password, "confirm": password})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_an_admin_cannot_set_a_common_initial_password(world, login_as):
    client = login_as("admin")
    response = client.post_form("/admin/users", {
        "name": "New Person", "email": "new.person@example.test", "role": "office",
        "team_id": "", "password": "password1234", "locale": "", "timezone": "Asia/Shanghai",
        "phone": "", "specialty_industries": "", "specialty_size_band": ""},
        headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "too common" in response.get_data(as_text=True)


def test_a_session_ends_at_its_absolute_lifetime_however_active(app, client, world):
    assert client.login(world.rep.email).status_code == 303
    assert client.get("/").status_code == 200
    hours = app.config["SESSION_MAX_HOURS"]
    assert hours == 12
    with app.app_context():
        # Used a minute ago (idle expiry far ahead), but signed in 12 hours and a minute ago.
        db.session.execute(update(UserSession).values(
            created_at=utcnow() - timedelta(hours=hours, minutes=1),
            last_seen_at=utcnow() - timedelta(minutes=1),
            expires_at=utcnow() + timedelta(days=1)))
        db.session.commit()
    assert client.get("/").status_code == 302


def test_sliding_expiry_never_passes_the_absolute_end(app, client, world):
    from crm.accounts.sessions import load_session_user

    client.login(world.rep.email, remember="y")
    with app.app_context():
        signed_in = utcnow() - timedelta(hours=11)
        db.session.execute(update(UserSession).values(
            created_at=signed_in, last_seen_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        token = db.session.scalar(db.select(UserSession.token))
        assert load_session_user(token) is not None
        db.session.commit()
        row = db.session.get(UserSession, token)
        assert row.expires_at <= signed_in + timedelta(hours=12, seconds=1)


def test_the_csrf_token_changes_at_sign_in(client, world):
    before = client.csrf_token()
    assert client.login(world.rep.email).status_code == 303
    after = client.csrf_token()
    assert after != before
    # A page kept from before sign-in cannot post for the signed-in user.
    stale = client.post("/account/preferences", data={
        "locale": "en", "timezone": "Asia/Shanghai", "csrf_token": before})
    assert stale.status_code == 400
    fresh = client.post("/account/preferences", data={
        "locale": "en", "timezone": "Asia/Shanghai", "csrf_token": after})
    assert fresh.status_code == 303


def test_instance_files_are_private(app, tmp_path):
    from crm.config import protect_instance

    folder = tmp_path / "instance"
    folder.mkdir(mode=0o755)
    previous = os.umask(0o022)
    try:
        protect_instance(folder)
        (folder / "crm.sqlite3").write_bytes(b"x")
        (folder / "uploads").mkdir()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE((folder / "crm.sqlite3").stat().st_mode) == 0o600
        assert stat.S_IMODE((folder / "uploads").stat().st_mode) == 0o700
    finally:
        os.umask(previous)


def test_the_running_apps_instance_folder_is_private(app):
    folder = app.config["INSTANCE_DIR"]
    assert stat.S_IMODE(os.stat(folder).st_mode) & 0o077 == 0


def test_access_log_lines_cannot_be_forged():
    from gunicorn.config import Config

    from crm.access_log import ACCESS_LOG_FORMAT, SafeAccessLogger

    config = Config()
    config.set("access_log_format", ACCESS_LOG_FORMAT)
    logger = SafeAccessLogger(config)

    class Response:
        status = "404 NOT FOUND"
        sent = 10
        headers = []

    class Request:
        headers = []

    environ = {"PATH_INFO": "/x\n10.0.0.1 \"GET /admin\" 200 5 1ms\r\u2028",
               "REQUEST_METHOD": "GET", "REMOTE_ADDR": "127.0.0.1", "QUERY_STRING": "",
               "SERVER_PROTOCOL": "HTTP/1.1", "RAW_URI": "/x%0a"}
    atoms = logger.atoms(Response(), Request(), environ, timedelta(milliseconds=3))
    line = ACCESS_LOG_FORMAT % atoms
    assert "\n" not in line and "\r" not in line and "\u2028" not in line
    assert "/x\\x0a10.0.0.1" in line


def test_gunicorn_reads_the_safe_logger_from_its_config_file():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "gunicorn.conf.py").read_text()
    assert 'logger_class = "crm.access_log.SafeAccessLogger"' in text


def test_deactivated_accounts_still_cannot_sign_in(app, client, world):
    with app.app_context():
        db.session.execute(update(User).where(User.id == world.rep2.id).values(active=False))
        db.session.commit()
    assert client.login(world.rep2.email).status_code == 422
