"""Two-factor sign-in: enrolment, the second step, recovery codes, and the requirement for
managers and administrators."""

import re
import time

import pyotp
from sqlalchemy import select

from crm.accounts.models import User
from crm.audit.models import AuditAction, AuditEvent
from crm.extensions import db
from crm.privacy.models import RecoveryCode
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}


def _enrol(client) -> tuple[str, list[str]]:
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    wrong = client.post_form("/account/two-factor", {"code": "000000"}, headers=EN)
    assert wrong.status_code == 422 and "That code is not right" in wrong.get_data(as_text=True)
    done = client.post_form("/account/two-factor", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>",
                       done.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def test_enrolment_then_the_second_step(app, world, login_as):
    secret, codes = _enrol(login_as("rep"))
    client = app.test_client()
    response = client.login(world.rep.email)
    assert response.status_code == 303 and response.headers["Location"] == "/login/two-factor"
    assert client.get("/").status_code == 302  # no session yet
    assert client.post_form("/login/two-factor", {"code": "123456"}).status_code == 422
    # The next step's code (the app's clock a little ahead): the enrolment used this one.
    code = pyotp.TOTP(secret).at(time.time() + 30)
    ok = client.post_form("/login/two-factor", {"code": code})
    assert ok.status_code == 303 and ok.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    with app.app_context():
        failed = db.session.scalars(select(AuditEvent.detail).where(
            AuditEvent.action == AuditAction.SIGN_IN_FAILED)).all()
        assert {"address": "127.0.0.1", "step": "two_factor"} in failed
        assert db.session.get(User, world.rep.id).totp_secret == secret
    # A code works once: seen on the way in, it cannot be replayed.
    again = app.test_client()
    again.login(world.rep.email)
    assert again.post_form("/login/two-factor", {"code": code}).status_code == 422


def test_a_recovery_code_works_once(app, world, login_as):
    _secret, codes = _enrol(login_as("rep"))
    for expected in (303, 422):
        client = app.test_client()
        client.login(world.rep.email)
        assert client.post_form("/login/two-factor", {"code": codes[0]}).status_code == expected
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(RecoveryCode).where(
            RecoveryCode.used_at.is_not(None))) == 1


def test_the_second_step_needs_the_password_first(client, world):
    assert client.get("/login/two-factor").status_code == 302
    assert client.post_form("/login/two-factor", {"code": "123456"}).status_code == 303


def test_guessing_codes_is_throttled(app, world, login_as):
    _enrol(login_as("rep"))
    client = app.test_client()
    client.login(world.rep.email)
    statuses = [client.post_form("/login/two-factor", {"code": "000000"}).status_code
                for _ in range(app.config["LOGIN_PAIR_LIMIT"] + 1)]
    assert statuses[-1] == 429


def test_admins_require_it_of_managers_and_admins(app, world, login_as):
    admin = login_as("admin")
    assert admin.post_form("/admin/security", {"two_factor_for_leads": "y"}).status_code == 303
    manager = app.test_client()
    response = manager.login(world.manager.email)
    assert response.headers["Location"] == "/account/two-factor"
    assert manager.get("/customers").headers["Location"] == "/account/two-factor"
    secret, _codes = _enrol(manager)
    assert manager.get("/customers").status_code == 200
    # It cannot be turned off while required; a rep is not covered.
    refused = manager.post_form("/account/two-factor/disable", {"password": PASSWORD})
    assert refused.status_code == 422
    rep = app.test_client()
    assert rep.login(world.rep.email).headers["Location"] == "/"


def test_turning_it_off_needs_the_password(app, world, login_as):
    client = login_as("rep")
    _enrol(client)
    assert client.post_form("/account/two-factor/disable",
                            {"password": "wrong-one-x"}).status_code == 422
    assert client.post_form("/account/two-factor/disable",
                            {"password": PASSWORD}).status_code == 303
    with app.app_context():
        assert db.session.get(User, world.rep.id).totp_secret is None


def test_a_remembered_sign_in_without_its_session_must_enrol_too(app, world, login_as):
    """Dropping the session cookie and coming back on the remember cookie alone is no way
    around the requirement."""
    admin = login_as("admin")
    assert admin.post_form("/admin/security", {"two_factor_for_leads": "y"}).status_code == 303
    manager = app.test_client()
    response = manager.login(world.manager.email, remember="y")
    assert response.headers["Location"] == "/account/two-factor"
    session_cookie = app.config["SESSION_COOKIE_NAME"]
    assert manager.get_cookie(app.config["REMEMBER_COOKIE_NAME"]) is not None
    manager.delete_cookie(session_cookie)
    assert manager.get_cookie(session_cookie) is None
    assert manager.get("/customers").headers["Location"] == "/account/two-factor"
    assert manager.get("/customers").headers["Location"] == "/account/two-factor"
