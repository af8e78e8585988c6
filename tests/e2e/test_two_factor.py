"""Two-factor sign-in in a real browser: enrol by scanning (the test reads the key the page
shows and computes the code as an authenticator app would), then sign in with a code."""

import time

import pyotp
from playwright.sync_api import expect

from tests.conftest import PASSWORD


def test_enrol_then_sign_in_with_a_totp_code(page, live_server, world, sign_in, shot):
    sign_in(world.rep.email)
    page.goto(f"{live_server}/account/two-factor")
    expect(page.locator("img.qr")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button[type=submit].primary")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    shot("recovery-codes")

    page.context.clear_cookies()
    page.goto(f"{live_server}/login")
    page.fill("#email", world.rep.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    expect(page).to_have_url(f"{live_server}/login/two-factor")
    page.fill("#code", "000000")
    page.click("button[type=submit].primary")
    expect(page.locator(".errors")).to_be_visible()
    # The next step's code: the one typed at enrolment works only once.
    page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))
    page.click("button[type=submit].primary")
    expect(page.locator(".topbar h1")).to_have_text("今日")
    shot("signed-in-with-code")
