"""Logging a visit on a phone with a manager riding along, who then adds their notes."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.parametrize("viewport", ["phone"], indirect=True)



def test_log_a_visit_with_a_ride_along(page, live_server, world, shot, sign_in):
    sign_in(world.rep2.email)
    page.click("text=记录拜访")  # from Today
    page.fill("#q", "ls")
    page.click(".customer-link:has-text('李四')")
    expect(page.locator("#occurred_at")).not_to_have_value("")
    page.fill("#summary", "第一次上门，客户想先试用一个月")
    page.fill("#next_step", "寄送试用账号")
    page.select_option("#companions", label="Manager")
    shot("log-visit")
    page.click("button:has-text('保存跟进')")
    expect(page.locator("#timeline")).to_contain_text("第一次上门，客户想先试用一个月")
    expect(page.locator("#timeline")).to_contain_text("陪访：Manager")
    shot("timeline")

    page.context.clear_cookies()
    sign_in(world.manager.email)
    page.goto(f"{live_server}/follow-ups/ride-alongs")
    visit = page.locator("section.card", has_text="第一次上门")
    visit.locator("textarea").fill("需求挖掘到位，下次带上报价")
    visit.locator("button:has-text('保存记录')").click()
    expect(page.locator(".flash-success")).to_be_visible()

    page.goto(f"{live_server}/customers/{world.customers.rep2}")
    expect(page.locator("#timeline")).to_contain_text("需求挖掘到位，下次带上报价")
