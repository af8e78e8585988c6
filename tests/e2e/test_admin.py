"""The admin's pages in a real browser: search users as you type, add a team and a user."""

from playwright.sync_api import expect


def test_search_users_as_you_type(page, live_server, world, shot, sign_in):
    sign_in(world.admin.email)
    page.goto(f"{live_server}/admin/users")
    expect(page.locator("#user-rows tr")).to_have_count(9)
    shot("users")
    page.fill("input[name=q]", "rep3")
    expect(page.locator("#user-rows tr")).to_have_count(1)
    expect(page.locator("#user-rows")).to_contain_text("rep3@example.test")
    expect(page).to_have_url(f"{live_server}/admin/users?q=rep3&role=&team_id=&status=active")


def test_create_team_then_user_in_it(page, live_server, world, shot, sign_in):
    sign_in(world.admin.email)
    page.goto(f"{live_server}/admin/teams")
    page.fill("#name", "苏州组")
    page.select_option("#parent_id", label="East")
    page.click("form[action='/admin/teams'] button[type=submit]")
    expect(page.locator(".tree")).to_contain_text("苏州组")
    shot("teams")

    page.goto(f"{live_server}/admin/users/new")
    page.fill("#name", "赵敏")
    page.fill("#email", "zhaomin@example.test")
    page.select_option("#team_id", label="· 苏州组")
    page.click("form button.primary")
    expect(page.locator("#temporary-password")).to_be_visible()
    shot("password-issued")
    page.goto(f"{live_server}/admin/users?q=zhaomin")
    expect(page.locator("#user-rows")).to_contain_text("赵敏")
    expect(page.locator("#user-rows")).to_contain_text("苏州组")


def test_system_page(page, live_server, world, shot, sign_in):
    sign_in(world.admin.email)
    page.goto(f"{live_server}/system")
    expect(page.locator(".state.ok").first).to_be_visible()
    shot("system")
