"""Customers in a real browser at phone size: search in Chinese, open a card, claim from the
pool, edit a section in place, and be told about a duplicate."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.parametrize("viewport", ["phone"], indirect=True)



def test_search_in_chinese_and_open_the_card(page, live_server, world, shot, sign_in):
    sign_in(world.rep.email)
    page.click(".bottomnav a[href='/customers']")
    expect(page.locator(".customer-name")).to_have_count(1)
    # Typing before htmx has wired the search box up would search nothing.
    page.wait_for_load_state("load")
    page.fill("#q", "华东")
    expect(page).to_have_url(re.compile(r"/customers\?tab=mine&q=%E5%8D%8E%E4%B8%9C"))
    expect(page.locator(".customer-name")).to_contain_text(["张三"])
    page.fill("#q", "zs")
    expect(page.locator(".customer-name")).to_contain_text(["张三"])
    page.fill("#q", "不存在的客户")
    expect(page.locator(".empty-row")).to_be_visible()
    page.fill("#q", "zs")
    expect(page.locator(".customer-name")).to_contain_text(["张三"])
    shot("search")
    page.click(".customer-link")
    expect(page.locator(".customer-title")).to_contain_text("张三")
    expect(page.locator("a[href='tel:+8613800138000']").first).to_be_visible()
    shot("card")


def test_claim_from_the_pool(page, live_server, world, shot, sign_in):
    sign_in(world.rep.email)
    page.goto(f"{live_server}/customers?tab=pool")
    page.click("text=孙七")
    expect(page.locator("#hidden-contact")).to_be_visible()
    shot("pool-card")
    page.click("button:has-text('领取')")
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("#owner")).to_contain_text("Rep")
    expect(page.locator("text=sunqi88")).to_be_visible()
    shot("claimed")


def test_edit_a_section_in_place(page, live_server, world, shot, sign_in):
    sign_in(world.rep.email)
    card_url = f"{live_server}/customers/{world.customers.rep}"
    page.goto(card_url)
    page.click("#section-profile a.link-button")
    expect(page.locator("#section-profile form")).to_be_visible()
    expect(page).to_have_url(card_url)  # swapped in place, no navigation
    page.fill("#section-profile textarea[name=needs]", "需要每月上门巡检")
    shot("editing")
    page.click("#section-profile button[type=submit]")
    expect(page.locator("#section-profile")).to_contain_text("需要每月上门巡检")
    expect(page.locator("#section-profile form")).to_have_count(0)
    page.reload()
    expect(page.locator("#section-profile")).to_contain_text("需要每月上门巡检")


def test_adding_a_duplicate_is_told_so(page, live_server, world, shot, sign_in):
    sign_in(world.rep2.email)
    page.goto(f"{live_server}/customers/new")
    page.fill("#name", "张先生")
    page.fill("#phone", "138-0013-8000")
    page.click("form button.primary")
    # Another rep's customer: that it exists and who owns it, nothing more.
    expect(page.locator("#duplicates")).to_contain_text("Rep")
    expect(page.locator("#duplicates")).not_to_contain_text("张三")
    expect(page.locator("#name")).to_have_value("张先生")
    shot("duplicate")
