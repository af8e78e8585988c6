"""Signing in and out: throttling, remember me, and sessions that really end."""

from datetime import timedelta

from sqlalchemy import select, update

from crm.accounts.models import Role, User, UserSession
from crm.clock import utcnow
from crm.extensions import db
from tests.conftest import PASSWORD


def _user(app, email):
    with app.app_context():
        return db.session.scalars(select(User).where(User.email == email)).one()


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


def _from(address):
    return {"REMOTE_ADDR": address}


def test_guessing_is_throttled_per_email_and_address(app, client, world):
    email, limit = world.rep.email, app.config["LOGIN_PAIR_LIMIT"]
    for _ in range(limit):
        assert client.login(email, "bad-guess").status_code == 422
    # This device, this e-mail: even the right password waits until the window ends.
    held = client.login(email, PASSWORD, headers={"Accept-Language": "en"})
    assert held.status_code == 429
    assert "Too many failed sign-ins from this device" in held.get_data(as_text=True)
    assert 0 < int(held.headers["Retry-After"]) <= app.config["LOGIN_WINDOW_MINUTES"] * 60
    # The owner, on their own phone elsewhere, is not locked out by the guesser.
    owner = app.test_client()
    owner.environ_base.update(_from("10.9.8.7"))
    assert owner.login(email).status_code == 303
    user = _user(app, email)
    assert user.locked_until is None


def test_an_unknown_email_is_throttled_exactly_like_a_known_one(app, world):
    limit = app.config["LOGIN_PAIR_LIMIT"]
    answers = {}
    for email, address in (("nobody@example.test", "10.0.0.1"), (world.rep.email, "10.0.0.2")):
        client = app.test_client()
        client.environ_base.update(_from(address))
        statuses = [client.login(email, "bad-guess").status_code for _ in range(limit + 1)]
        last = client.login(email, "bad-guess")
        answers[email] = (statuses, last.status_code, last.get_data(as_text=True)
                          .split('id="login-error">')[1].split("<")[0])
    assert answers["nobody@example.test"] == answers[world.rep.email]
    assert answers[world.rep.email][0] == [422] * limit + [429]


def test_one_address_guessing_many_emails_is_throttled(app, world):
    app.config["LOGIN_ADDRESS_LIMIT"] = 3
    client = app.test_client()
    client.environ_base.update(_from("10.1.1.1"))
    for n in range(3):
        assert client.login(f"guess{n}@example.test", "bad-guess").status_code == 422
    assert client.login("another@example.test", "bad-guess").status_code == 429
    other = app.test_client()
    other.environ_base.update(_from("10.1.1.2"))
    assert other.login(world.rep.email).status_code == 303


def test_throttle_message_is_translated(app, client, world):
    app.config["LOGIN_PAIR_LIMIT"] = 1
    client.login(world.rep.email, "bad")
    response = client.login(world.rep.email, "bad", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 429
    assert "失败" in response.get_data(as_text=True)


def test_sign_ins_are_audited(app, client, world):
    from crm.audit.models import AuditAction, AuditEvent

    client.login("nobody@example.test", "bad-guess")
    client.login(world.rep.email, "bad-guess")
    client.login(world.rep.email)
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.action, AuditEvent.actor_id)
                                  .order_by(AuditEvent.id)).all()
    assert rows[-3:] == [(AuditAction.SIGN_IN_FAILED, None),
                         (AuditAction.SIGN_IN_FAILED, world.rep.id),
                         (AuditAction.SIGN_IN, world.rep.id)]


def test_known_and_unknown_emails_take_about_the_same_time(app, client, world):
    """With the app's own hash (the factories' is cheap): one check either way."""
    import statistics
    import time

    from crm.accounts.users import create_user

    with app.app_context():
        create_user(email="timed@example.test", name="Timed", role=Role.OFFICE,
                    password="amber-gate-71-river")
        db.session.commit()
    app.config["LOGIN_PAIR_LIMIT"] = 100

    def timed(email):
        started = time.perf_counter()
        response = client.login(email, "not-it-at-all")
        assert response.status_code == 422
        return time.perf_counter() - started

    known, unknown = [], []
    for _ in range(5):
        known.append(timed("timed@example.test"))
        unknown.append(timed("nobody-here@example.test"))
    ratio = statistics.median(known) / statistics.median(unknown)
    assert 0.6 < ratio < 1.6, (known, unknown)


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
    assert "A password needs at least 10 characters" in response.get_data(as_text=True)


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
