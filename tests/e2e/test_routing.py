"""Routing in a real browser: a manager edits a rule and previews where the next leads go,
office imports 30 leads that spread as the preview said; a rep claims a look-alike from a
key customer's card."""

import csv
import io
import re
from collections import Counter

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from crm.accounts.models import User
from crm.customers.models import Customer
from crm.extensions import db

pytestmark = pytest.mark.parametrize("viewport", ["desktop"], indirect=True)


def test_edit_a_rule_preview_then_import_spreads_as_previewed(page, live_server, app, world,
                                                              shot, sign_in, tmp_path):
    sign_in(world.manager.email)
    page.goto(f"{live_server}/routing")
    expect(page).to_have_url(re.compile(rf"/routing/teams/{world.teams.sh1}$"))
    page.click("#rules summary:has-text('添加规则')")
    page.fill("#new-name", "全部线索")
    page.click("#rules button:has-text('添加规则')")
    expect(page.locator(".flash-success")).to_be_visible()
    # Edit it: only manufacturing.
    page.click("#rules details.rule summary:has-text('全部线索')")
    rule_form = page.locator("#rules details.rule").first
    rule_form.locator("input[name$='-industries']").fill("制造业")
    rule_form.locator("button:has-text('保存')").click()
    expect(page.locator("#rules")).to_contain_text("制造业")
    page.fill("#preview #industry", "制造业")
    page.fill("#preview #count", "30")
    page.click("#preview button:has-text('预览')")
    expect(page.locator("#preview-result li")).to_have_count(30)
    previewed = Counter(page.locator("#preview-result li strong").all_inner_texts())
    shot("preview")

    rows = [["姓名", "电话", "行业"]] + [[f"展会{n:02d}", f"1372222{n:04d}", "制造业"]
                                       for n in range(30)]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    upload = tmp_path / "leads.csv"
    upload.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    page.context.clear_cookies()
    sign_in(world.office.email)
    page.goto(f"{live_server}/customers/import")
    page.set_input_files("input[type=file]", str(upload))
    page.click("button[type=submit].primary")
    page.select_option("#route_team_id", label="Shanghai 1")
    shot("import-preview")
    page.click("button:has-text('导入 30')")
    expect(page.locator(".flash-success").first).to_be_visible()
    with app.app_context():
        held = dict(db.session.execute(
            select(User.name, func.count()).join(Customer, Customer.owner_id == User.id)
            .where(Customer.name.like("展会%")).group_by(User.name)).all())
    assert held == dict(previewed)


def test_claim_a_lookalike_from_a_key_customers_card(page, live_server, app, world, shot,
                                                     sign_in, make_customer):
    key = make_customer(world.rep, name="重点机械厂", industry="机械", size_band="large",
                        tier="key")
    make_customer(None, name="同行机械厂", industry="机械", size_band="large")
    sign_in(world.rep.email)
    page.goto(f"{live_server}/customers/{key}")
    lookalikes = page.locator("#lookalikes")
    expect(lookalikes).to_contain_text("同行机械厂")
    shot("lookalikes")
    lookalikes.locator("button:has-text('领取')").first.click()
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator(".customer-title")).to_contain_text("同行机械厂")
    expect(page.locator("#owner")).to_contain_text("Rep")
