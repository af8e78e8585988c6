"""Signing in, a wrong password, and switching language, in a real browser at both sizes."""

from playwright.sync_api import expect

from tests.conftest import PASSWORD


def _sign_in(page, base, email, password):
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit].primary")


def test_rep_signs_in_and_lands_on_today(page, live_server, world, shot):
    _sign_in(page, live_server, world.rep.email, PASSWORD)
    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator(".topbar h1")).to_have_text("今日")
    expect(page.locator(".greeting-name")).to_contain_text("Rep")
    if page.viewport_name == "phone":
        expect(page.locator(".bottomnav")).to_be_visible()
        expect(page.locator(".sidenav")).to_be_hidden()
        expect(page.locator(".bottomnav a[aria-current=page]")).to_contain_text("今日")
    else:
        expect(page.locator(".sidenav")).to_be_visible()
        expect(page.locator(".bottomnav")).to_be_hidden()
    shot("today")


def test_wrong_password_shows_the_error_and_keeps_the_email(page, live_server, world, shot):
    _sign_in(page, live_server, world.rep.email, "not-my-password")
    expect(page.locator("#login-error")).to_be_visible()
    expect(page.locator("#login-error")).to_have_text("邮箱或密码错误。")
    expect(page.locator("#email")).to_have_value(world.rep.email)
    expect(page.locator("#password")).to_have_value("")
    shot("wrong-password")


def test_switch_language_before_and_after_signing_in(page, live_server, world, shot):
    page.goto(f"{live_server}/login")
    expect(page.locator("h1")).to_have_text("登录")
    page.click(".lang-switch button[value=en]")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shot("login-english")

    page.fill("#email", world.rep.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator(".topbar h1")).to_have_text("Today")

    page.goto(f"{live_server}/more")
    page.click(".content .lang-switch button[value=zh_CN]")
    expect(page).to_have_url(f"{live_server}/more")
    expect(page.locator(".topbar h1")).to_have_text("更多")
    shot("more-chinese")


def test_sign_out_from_more(page, live_server, world):
    _sign_in(page, live_server, world.rep.email, PASSWORD)
    page.goto(f"{live_server}/more")
    page.click(".content form[action='/logout'] button")
    expect(page).to_have_url(f"{live_server}/login")
    page.goto(f"{live_server}/")
    expect(page).to_have_url(f"{live_server}/login?next=/")
