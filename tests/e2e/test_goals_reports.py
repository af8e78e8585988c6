"""Goals, the dashboard and reports in a real browser at phone size: a manager sets and
splits a goal, the rep sees progress on Today, the manager opens the dashboard, switches the
period, asks for a weekly report and downloads it."""

import io
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from crm.queue import make_worker


@pytest.fixture(params=["phone"])
def viewport(request):
    return request.param


def test_goal_dashboard_and_report_on_a_phone(app, page, live_server, world, shot, sign_in):
    sign_in(world.manager.email)
    page.goto(f"{live_server}/goals")
    page.select_option("#metric", "visits")
    page.select_option("#period", "month")
    page.fill("#target", "9")
    page.click("button:has-text('保存目标')")
    team_goal = page.locator(".team-goal", has_text="拜访")
    expect(team_goal).to_contain_text("/ 9")
    team_goal.locator("summary:has-text('修改')").click()
    team_goal.locator("button:has-text('拆分'):not(:has-text('季度'))").click()
    expect(page.locator(".team-goal", has_text="拜访")).to_contain_text(
        "成员目标合计 9，与团队目标一致。")
    shot("goals")

    page.context.clear_cookies()
    sign_in(world.rep.email)
    mine = page.locator("#my-goals")
    expect(mine).to_contain_text("拜访")
    expect(mine).to_contain_text("1 / 3")
    expect(mine.locator(".pace-word")).to_be_visible()
    shot("today")

    page.context.clear_cookies()
    sign_in(world.manager.email)
    page.goto(f"{live_server}/dashboard")
    expect(page.locator(".tile[data-metric=visits] .tile-value")).to_have_text("1")
    expect(page.locator(".tile[data-metric=visits] .tile-goal")).to_contain_text("目标 9")
    page.locator(".period-links a", has_text="本周").click()  # one tap on a phone
    expect(page).to_have_url(re.compile(r"period=week"))
    expect(page.locator(".period-links a[aria-current]")).to_have_text("本周")
    expect(page.locator("input[name=period][value=week]")).to_be_checked()
    expect(page.locator("svg.bar-chart")).to_have_count(2)
    shot("dashboard")

    page.goto(f"{live_server}/reports")
    page.select_option("#kind", "weekly")
    page.click("button:has-text('生成报表')")
    status = page.locator("#report-status")
    expect(status).to_contain_text("等待开始")
    make_worker(app, simple=True).work(burst=True)
    expect(status).to_contain_text("已完成", timeout=10_000)  # it polled and stopped
    status.locator("a:has-text('打开报表')").click()
    with page.expect_download() as download:
        page.click("a:has-text('下载 XLSX')")
    book = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))
    assert "每人" in book.sheetnames
    shot("report")
