"""What a rep and a manager meet first: a manager's Today, the card's first screen, the
review sheet's head, a moved deal's undo, and words and dates people read without doubt."""

import re
from datetime import timedelta

import pytest

from crm.accounts.models import User
from crm.clock import local_today, utcnow
from crm.customers.models import Customer
from crm.extensions import db
from crm.followups.logging import log_follow_up
from crm.followups.models import FollowUpKind
from crm.pipeline.models import Deal, Stage
from tests.conftest import count_queries

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
HTMX = {"HX-Request": "true", "Accept-Language": "en"}


def _log(app, customer_id, author, *, days_ago=3, next_in_days=None, summary="谈了价格"):
    with app.app_context():
        follow_up = log_follow_up(
            db.session.get(Customer, customer_id), db.session.get(User, author.id),
            kind=FollowUpKind.CALL, occurred_at=utcnow() - timedelta(days=days_ago),
            summary=summary, next_step="送样品",
            # The team's calendar day, as the pages count "overdue": not the machine's.
            next_date=(local_today() + timedelta(days=next_in_days)
                       if next_in_days is not None else None))
        db.session.commit()
        return follow_up.id


def _section(html: str, section_id: str) -> str:
    return html.split(f'id="{section_id}"', 1)[1].split("</section>", 1)[0]


# A manager's Today ------------------------------------------------------------------------

@pytest.mark.recording
def test_a_managers_today_lists_what_waits_on_them(app, world, login_as, make_deal):
    _log(app, world.customers.rep2, world.rep2, next_in_days=-4)  # rep2: 4 days overdue
    make_deal(world.customers.rep2, title="无下一步的大单", grade="A")
    make_deal(world.customers.rep, title="有计划的大单", grade="A")
    _log(app, world.customers.rep, world.rep, days_ago=0, next_in_days=2)
    assert world.recording  # a ready recording of rep's, nobody has reviewed it
    html = login_as("manager").get("/", headers=EN).get_data(as_text=True)
    team = _section(html, "team-today")
    assert "Recordings waiting for review" in team
    assert re.search(r'class="count warn">1<', team)
    assert "0 of 2" in team  # reviewed today against the team's daily target
    overdue = team.split("Overdue follow-ups by person", 1)[1]
    assert "Rep Two" in overdue and "4 days overdue" in overdue
    a_deals = team.split("A deals without a next step", 1)[1]
    assert "无下一步的大单" in a_deals and "有计划的大单" not in a_deals
    assert "Nothing is due today." not in html


def test_a_rep_has_no_team_section_and_a_managers_today_stays_flat(app, world, login_as,
                                                                    make_customer):
    assert 'id="team-today"' not in login_as("rep").get("/").get_data(as_text=True)
    manager = login_as("manager")
    _log(app, world.customers.rep2, world.rep2, next_in_days=-1)
    counts = []
    for _round in range(2):
        manager.get("/")
        with count_queries(app) as counted:
            assert manager.get("/").status_code == 200
        counts.append(counted.count)
        for n in range(5):
            customer = make_customer(world.rep2, name=f"逾期客户{_round}{n}")
            _log(app, customer, world.rep2, next_in_days=-2)
    assert counts[0] == counts[1]


def test_customers_open_on_the_team_tab_for_managers(world, login_as):
    html = login_as("manager").get("/customers", headers=EN).get_data(as_text=True)
    assert re.search(r'href="/customers\?tab=team" aria-current="page">Team<', html)
    assert "李四" in html  # rep2's customer: the team's list, not "mine"


# The card's first screen -----------------------------------------------------------------

def test_the_card_opens_on_where_things_stand(app, world, login_as, make_deal):
    _log(app, world.customers.rep, world.rep, days_ago=0, next_in_days=-2,
         summary="客户要求下周报价")
    html = login_as("rep").get(f"/customers/{world.customers.rep}", headers=ZH) \
        .get_data(as_text=True)
    now = _section(html, "now")
    assert "客户要求下周报价" in now and "送样品" in now and "逾期 2 天" in now
    assert "年度设备采购" in now  # the open deal
    # At the door first: what stands, the deals and the timeline come before the profile.
    order = [html.index(marker) for marker in
             ('id="now"', 'id="deals"', 'id="timeline"', 'id="contacts"', 'id="section-')]
    assert order == sorted(order)


def test_a_card_never_contacted_says_so(world, login_as):
    html = login_as("rep2").get(f"/customers/{world.customers.rep2}", headers=EN) \
        .get_data(as_text=True)
    assert "Never contacted yet." in _section(html, "now")


# The review sheet's head -----------------------------------------------------------------

def test_the_sheet_sums_up_the_rep_and_counts_reviews_tonight(app, world, login_as,
                                                               make_deal):
    make_deal(world.customers.rep, title="二期", grade="A", amount="10000")
    with app.app_context():
        deal = db.session.get(Deal, world.deal)
        deal.amount = 20000
        db.session.commit()
    _log(app, world.customers.rep, world.rep, next_in_days=-1)
    manager = login_as("manager")
    url = f"/pipeline/sheet?rep={world.rep.id}"
    html = manager.get(url, headers=EN).get_data(as_text=True)
    figures = html.split('class="sheet-figures"', 1)[1].split("</dl>", 1)[0]
    assert "¥30,000" in figures  # open amount
    assert "¥18,000" in figures  # weighted: 10,000 × 0.8 (A) + 20,000 × 0.5 (B)
    assert "0 / 2 reviewed today" in html
    assert manager.post_form(f"/deals/{world.deal}/review",
                             {"note": "先约老板", "back": url}).status_code == 303
    html = manager.get(url, headers=EN).get_data(as_text=True)
    assert "1 / 2 reviewed today" in html
    row = html.split(f'id="deal-{world.deal}"', 1)[1].split("</li>", 1)[0]
    assert "Reviewed today" in row and "Review again" in row


# A moved deal says where it went ---------------------------------------------------------

def test_a_moved_deal_says_where_it_went_and_can_be_undone(app, world, login_as):
    rep = login_as("rep")
    version = world.deal_version()
    moved = rep.post_form(f"/deals/{world.deal}/move",
                          {"stage": "intent", "version": str(version), "back": "/pipeline"},
                          headers=HTMX)
    body = moved.get_data(as_text=True)
    assert moved.status_code == 200 and "<html" not in body
    assert moved.headers["HX-Trigger"] == "dealMoved"
    notice = body.split('id="board-notice"', 1)[1]
    assert 'hx-swap-oob="true"' in notice and "moved to Intent" in notice
    assert 'name="stage" value="inquiry"' in notice
    undo_version = re.search(r'name="version" value="(\d+)"', notice).group(1)
    undone = rep.post_form(f"/deals/{world.deal}/move",
                           {"stage": "inquiry", "version": undo_version, "back": "/pipeline"},
                           headers=HTMX)
    assert undone.status_code == 200
    with app.app_context():
        assert db.session.get(Deal, world.deal).stage == Stage.INQUIRY
    # The board has the (empty) live region the notice lands in.
    board = rep.get("/pipeline", headers=EN).get_data(as_text=True)
    assert 'id="board-notice" class="board-notice" role="status"' in board


# Words and dates -------------------------------------------------------------------------

def test_english_dates_name_the_month(app, world, login_as):
    _log(app, world.customers.rep, world.rep, next_in_days=-2)
    html = login_as("rep").get("/", headers=EN).get_data(as_text=True)
    assert not re.search(r"\b\d{1,2}/\d{1,2}/\d{2}\b", html)
    sheet = login_as("rep").get("/pipeline/sheet", headers=EN).get_data(as_text=True)
    assert not re.search(r"\b\d{1,2}/\d{1,2}/\d{2}\b", sheet)
    assert re.search(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}\b", sheet)


def test_the_time_zone_picker_names_zones_as_people_know_them(login_as):
    html = login_as("rep").get("/more", headers=EN).get_data(as_text=True)
    assert re.search(r'<option[^>]*value="Asia/Shanghai"[^>]*>\(UTC\+08:00\) China Standard '
                     r"Time — Shanghai</option>", html)
    zh = login_as("rep").get("/more", headers=ZH).get_data(as_text=True)
    assert "中国标准时间 — 上海" in zh


def test_the_phone_navigation_says_reviews_in_one_word(login_as):
    html = login_as("rep").get("/", headers=EN).get_data(as_text=True)
    bottom = html.split('class="bottomnav"', 1)[1].split("</nav>", 1)[0]
    assert ">Reviews<" in bottom and "Recording reviews" not in bottom
    side = html.split('class="bottomnav"', 1)[0]
    assert "Recording reviews" in side


@pytest.mark.recording
def test_the_reps_review_list_names_the_reviewer_as_the_review_page_does(world, login_as):
    world.review("finished")
    html = login_as("rep").get("/reviews", headers=ZH).get_data(as_text=True)
    assert "分析人：Manager" in html and "操作人" not in html
