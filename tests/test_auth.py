"""Signing in and out: lock-out, remember me, and sessions that really end."""

from datetime import timedelta

from sqlalchemy import select, update

from crm.accounts.models import Role, User, UserSession
from crm.clock import utcnow
from crm.extensions import db
from tests.conftest import PASSWORD


def _user(app, email):
    with app.app_context():
        return db.session.scalars(select(User).where(User.email == email)).one()


def _rewind_failures(app, email, seconds):
    """Pretend the last failed attempt happened `seconds` earlier (no sleeping in tests)."""
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        values = {}
        if user.last_failed_login_at:
            values["last_failed_login_at"] = user.last_failed_login_at - timedelta(seconds=seconds)
        if user.locked_until:
            values["locked_until"] = user.locked_until - timedelta(seconds=seconds)
        if values:
            db.session.execute(update(User).where(User.id == user.id).values(**values))
            db.session.commit()


def test_login_lands_on_today(client, world):
    response = client.login(world.rep.email)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "Rep" in page.get_data(as_text=True)


def test_wrong_password_shows_error_and_keeps_email(client, world):
    response = client.login(world.rep.email, "wrong-password", )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="login-error"' in html
    assert f'value="{world.rep.email}"' in html
    assert client.get("/").status_code == 302


def test_unknown_email_gets_the_same_message(client, world):
    unknown = client.login("nobody@example.test", "whatever").get_data(as_text=True)
    wrong = client.login(world.rep.email, "whatever").get_data(as_text=True)
    assert "邮箱或密码错误。" in unknown
    marker = 'id="login-error">'
    assert unknown.split(marker)[1].split("<")[0] == wrong.split(marker)[1].split("<")[0]


def test_slowdown_then_lockout(app, client, world):
    email = world.rep.email
    limits = app.config
    for _ in range(limits["LOGIN_SLOWDOWN_AFTER"]):
        _rewind_failures(app, email, 3600)
        assert client.login(email, "bad-guess").status_code == 422
    # Slowed down: even the right password is refused until the wait is over.
    slowed = client.login(email, PASSWORD, headers={"Accept-Language": "en"})
    assert slowed.status_code == 429
    assert "Wait" in slowed.get_data(as_text=True)
    assert int(slowed.headers["Retry-After"]) > 0

    for _ in range(limits["LOGIN_LOCKOUT_AFTER"] - limits["LOGIN_SLOWDOWN_AFTER"]):
        _rewind_failures(app, email, 3600)
        client.login(email, "bad-guess")
    user = _user(app, email)
    assert user.locked_until is not None and user.locked_until > utcnow()
    locked = client.login(email, PASSWORD, headers={"Accept-Language": "en"})
    assert locked.status_code == 429
    assert "locked" in locked.get_data(as_text=True)

    _rewind_failures(app, email, limits["LOGIN_LOCKOUT_MINUTES"] * 60 + 1)
    assert client.login(email, PASSWORD).status_code == 303
    user = _user(app, email)
    assert user.failed_logins == 0 and user.locked_until is None


def test_lockout_message_is_translated(app, client, world):
    app.config["LOGIN_LOCKOUT_AFTER"] = 1
    response = client.login(world.rep.email, "bad", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 429
    assert "锁定" in response.get_data(as_text=True)


def test_deactivated_user_is_told_after_a_correct_password(app, client, world):
    with app.app_context():
        db.session.execute(update(User).where(User.id == world.rep.id).values(active=False))
        db.session.commit()
    response = client.login(world.rep.email, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "deactivated" in response.get_data(as_text=True)


def test_logout_ends_the_session_for_a_copied_cookie(app, client, world):
    client.login(world.rep.email)
    stolen = client.get_cookie("crm_session").value
    response = client.post_form("/logout")
    assert response.status_code == 303
    thief = app.test_client()
    thief.set_cookie("crm_session", stolen)
    assert thief.get("/").status_code == 302


def test_logout_on_one_device_keeps_the_other(app, world):
    phone, laptop = app.test_client(), app.test_client()
    phone.login(world.rep.email)
    laptop.login(world.rep.email)
    phone.post_form("/logout")
    assert phone.get("/").status_code == 302
    assert laptop.get("/").status_code == 200


def test_remember_me_survives_a_closed_browser_but_not_logout(app, client, world):
    response = client.login(world.rep.email, remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    remember = next(c for c in cookies if c.startswith("crm_remember="))
    assert "Secure" in remember and "HttpOnly" in remember and "SameSite=Lax" in remember
    token = client.get_cookie("crm_remember").value

    reopened = app.test_client()  # no session cookie: the browser was closed
    reopened.set_cookie("crm_remember", token)
    assert reopened.get("/").status_code == 200

    client.post_form("/logout")
    again = app.test_client()
    again.set_cookie("crm_remember", token)
    assert again.get("/").status_code == 302


def test_session_cookie_flags(client, world):
    response = client.login(world.rep.email)
    session_cookie = next(c for c in response.headers.getlist("Set-Cookie")
                          if c.startswith("crm_session="))
    for flag in ("Secure", "HttpOnly", "SameSite=Lax"):
        assert flag in session_cookie


def test_password_change_signs_out_other_devices(app, world):
    this, other = app.test_client(), app.test_client()
    this.login(world.rep.email)
    other.login(world.rep.email)
    response = this.post_form("/account/password", {
        "current_password": PASSWORD, "new_password": "a-new-pass-2",
        "confirm": "a-new-pass-2"})
    assert response.status_code == 303
    assert this.get("/").status_code == 200
    assert other.get("/").status_code == 302
    fresh = app.test_client()
    assert fresh.login(world.rep.email, "a-new-pass-2").status_code == 303


def test_password_change_keeps_input_on_error(client, world):
    client.login(world.rep.email)
    response = client.post_form("/account/password", {
        "current_password": PASSWORD, "new_password": "short", "confirm": "short"},
        headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "A password needs at least 8 characters" in response.get_data(as_text=True)


def test_deactivation_ends_every_session(app, world, login_as):
    rep = login_as("rep")
    admin = login_as("admin")
    assert admin.post_form(f"/admin/users/{world.rep.id}/deactivate").status_code == 303
    assert rep.get("/").status_code == 302
    with app.app_context():
        assert not db.session.scalars(
            select(UserSession).where(UserSession.user_id == world.rep.id)).all()


def test_admin_reset_forces_a_new_password(app, world, login_as):
    admin = login_as("admin")
    page = admin.post_form(f"/admin/users/{world.rep.id}/password-reset")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    temporary = html.split('id="temporary-password">')[1].split("<")[0]

    rep = app.test_client()
    response = rep.login(world.rep.email, temporary)
    assert response.headers["Location"] == "/account/password"
    assert rep.get("/").headers["Location"] == "/account/password"
    rep.post_form("/account/password", {"current_password": temporary,
                                        "new_password": "my-own-pass-9",
                                        "confirm": "my-own-pass-9"})
    assert rep.get("/").status_code == 200


def test_next_url_must_stay_on_site(client, world):
    response = client.login(world.rep.email, next="https://evil.example/phish")
    assert response.headers["Location"] == "/"
    client.post_form("/logout")
    response = client.login(world.rep.email, next="/more")
    assert response.headers["Location"] == "/more"


def test_login_page_redirects_when_signed_in(login_as):
    assert login_as("rep").get("/login").status_code == 302


def test_htmx_login_uses_hx_redirect(client, world):
    token = client.csrf_token()
    response = client.post("/login", data={"email": world.rep.email, "password": PASSWORD},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/"


def test_expired_sessions_are_refused_and_pruned(app, client, world):
    from crm.accounts.sessions import prune_expired_sessions

    client.login(world.rep.email)
    with app.app_context():
        db.session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert client.get("/").status_code == 302
    with app.app_context():
        assert prune_expired_sessions() == 1


def test_roles_are_stored_as_their_values(app, world):
    assert _user(app, world.manager.email).role is Role.MANAGER


def test_htmx_request_after_sign_out_moves_the_whole_page(client):
    response = client.get("/admin/users?q=x", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_anonymous_page_request_keeps_where_it_was_going(client):
    response = client.get("/more")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/more"


def test_slowdown_never_exceeds_a_lockout(app):
    from crm.accounts.login import slowdown_delay

    with app.app_context():
        cap = timedelta(minutes=app.config["LOGIN_LOCKOUT_MINUTES"])
        assert slowdown_delay(app.config["LOGIN_SLOWDOWN_AFTER"] - 1) == timedelta(0)
        assert slowdown_delay(app.config["LOGIN_SLOWDOWN_AFTER"]) == timedelta(seconds=5)
        assert slowdown_delay(500) == cap
