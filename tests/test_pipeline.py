"""Deals: stages and grades, their events, the rules for won and lost, stale edits, the
pool, and the board's and sheet's query counts."""

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from crm.accounts.models import User
from crm.clock import utcnow
from crm.customers.jobs import expire_pool
from crm.customers.models import Customer
from crm.errors import DomainError
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpKind
from crm.pipeline.deals import grade_moves, grade_moves_on, move_deal, regrade_deal
from crm.pipeline.models import Deal, DealChange, DealEvent, DealReview, Grade, Stage
from tests.conftest import count_queries


def _deal(app, deal_id) -> Deal:
    with app.app_context():
        deal = db.session.get(Deal, deal_id)
        db.session.expunge(deal)
        return deal


def _events(app, deal_id) -> list[tuple]:
    with app.app_context():
        return [(e.kind.value, e.from_value, e.to_value, e.direction) for e in db.session.scalars(
            select(DealEvent).where(DealEvent.deal_id == deal_id).order_by(DealEvent.id))]


def _move(client, deal_id, version, **data):
    return client.post_form(f"/deals/{deal_id}/move",
                            {"version": str(version), "back": "/pipeline", **data})


def test_a_deal_is_created_from_the_card(app, world, login_as):
    rep = login_as("rep")
    card = rep.get(f"/customers/{world.customers.rep}").get_data(as_text=True)
    assert "年度设备采购" in card and f"/customers/{world.customers.rep}/deals/new" in card
    response = rep.post_form(f"/customers/{world.customers.rep}/deals",
                             {"title": "备件年度合同", "grade": "A", "stage": "first_meeting",
                              "amount": "56000"})
    assert response.status_code == 303
    with app.app_context():
        deal = db.session.scalars(select(Deal).where(Deal.title == "备件年度合同")).one()
        assert (deal.owner_id, deal.stage, deal.grade) == (world.rep.id, Stage.FIRST_MEETING,
                                                           Grade.A)
        # No date given: the A window (a week by default) decides.
        assert deal.expected_close == (utcnow() + timedelta(days=7)).date()
    assert _events(app, deal.id) == [("create", None, "inquiry", 0),
                                     ("stage", "inquiry", "first_meeting", 1)]


def test_a_new_deal_needs_a_title_and_keeps_the_input(app, world, login_as):
    response = login_as("rep").post_form(f"/customers/{world.customers.rep}/deals",
                                         {"title": "", "grade": "B", "amount": "300"})
    assert response.status_code == 422
    assert 'value="300"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Deal.id).where(Deal.customer_id == world.customers.rep,
                                                       Deal.id != world.deal)) is None


def test_won_needs_an_amount(app, world, login_as):
    rep = login_as("rep")
    response = _move(rep, world.deal, world.deal_version(), stage="won")
    assert response.status_code == 422
    assert "成交的商机需要金额" in response.get_data(as_text=True)
    assert _deal(app, world.deal).stage == Stage.INQUIRY
    assert _move(rep, world.deal, world.deal_version(), stage="won",
                 amount="88000").status_code == 303
    deal = _deal(app, world.deal)
    assert (deal.stage, deal.amount) == (Stage.WON, Decimal("88000.00"))
    assert deal.closed_at is not None


def test_the_rules_hold_outside_the_views_too(app, world):
    with app.app_context():
        rep = db.session.get(User, world.rep.id)
        deal = db.session.get(Deal, world.deal)
        with pytest.raises(DomainError) as won:
            move_deal(deal, rep, Stage.WON)
        with pytest.raises(DomainError) as lost:
            move_deal(deal, rep, Stage.LOST, reason="")
        assert (won.value.field, lost.value.field) == ("amount", "reason")
        db.session.rollback()


def test_lost_needs_a_reason(app, world, login_as):
    rep = login_as("rep")
    response = _move(rep, world.deal, world.deal_version(), stage="lost", reason="  ")
    assert response.status_code == 422
    assert _deal(app, world.deal).stage == Stage.INQUIRY
    assert _move(rep, world.deal, world.deal_version(), stage="lost",
                 reason="预算被砍").status_code == 303
    deal = _deal(app, world.deal)
    assert (deal.stage, deal.lost_reason) == (Stage.LOST, "预算被砍")
    assert _events(app, world.deal)[-1] == ("stage", "inquiry", "lost", 0)


def test_moving_backwards_is_allowed_and_recorded(app, world, login_as):
    rep = login_as("rep")
    assert _move(rep, world.deal, world.deal_version(), stage="negotiation").status_code == 303
    assert _move(rep, world.deal, world.deal_version(), stage="intent").status_code == 303
    assert _events(app, world.deal)[1:] == [("stage", "inquiry", "negotiation", 1),
                                            ("stage", "negotiation", "intent", -1)]
    page = rep.get(f"/deals/{world.deal}").get_data(as_text=True)
    assert "谈价 → 意向" in page
    timeline = rep.get(f"/customers/{world.customers.rep}").get_data(as_text=True)
    assert "谈价 → 意向" in timeline


def test_a_stale_edit_is_refused(app, world, login_as):
    opened = world.deal_version()
    rep, manager = login_as("rep"), login_as("manager")
    assert _move(manager, world.deal, opened, stage="intent").status_code == 303
    response = rep.post_form(f"/deals/{world.deal}",
                             {"title": "改名", "grade": "A", "stage": "inquiry",
                              "version": str(opened)})
    assert response.status_code == 409
    deal = _deal(app, world.deal)
    assert (deal.title, deal.grade, deal.stage) == ("年度设备采购", Grade.B, Stage.INTENT)
    assert _move(rep, world.deal, opened, stage="won", amount="1").status_code == 409
    assert _deal(app, world.deal).stage == Stage.INTENT


def test_grade_changes_are_events_counted_per_rep(app, world):
    with app.app_context():
        rep = db.session.get(User, world.rep.id)
        deal = db.session.get(Deal, world.deal)
        start = utcnow() - timedelta(minutes=1)
        regrade_deal(deal, rep, Grade.A)   # B → A: up
        regrade_deal(deal, rep, Grade.C)   # A → C: down
        regrade_deal(deal, rep, Grade.B)   # C → B: up
        other = db.session.get(Deal, world.deal3)
        regrade_deal(other, rep, Grade.B)  # rep3's deal A → B: down, counted for rep3
        move_deal(deal, rep, Stage.INTENT)  # a stage move is not a grade move
        db.session.commit()
        moves = grade_moves(start, utcnow() + timedelta(minutes=1))
        assert moves == {world.rep.id: (2, 1), world.rep3.id: (0, 1)}
        assert grade_moves(start - timedelta(days=2), start) == {}
        assert grade_moves(start, utcnow() + timedelta(minutes=1),
                           owner_ids=[world.rep3.id]) == {world.rep3.id: (0, 1)}
        # Per calendar day in the team's zone: 00:30 in Shanghai is still the day before in UTC.
        shanghai = ZoneInfo("Asia/Shanghai")
        late = datetime(2026, 3, 3, 0, 30, tzinfo=shanghai)
        db.session.add(DealEvent(deal_id=world.deal, customer_id=world.customers.rep,
                                 owner_id=world.rep.id, kind=DealChange.GRADE, from_value="B",
                                 to_value="A", direction=1, at=late))
        db.session.commit()
        assert grade_moves_on(late.date(), shanghai) == {world.rep.id: (1, 0)}
        assert grade_moves_on(late.date() - timedelta(days=1), shanghai) == {}


def test_a_won_deal_keeps_the_customer_out_of_the_pool(app, world, login_as):
    with app.app_context():
        for cid in (world.customers.rep, world.customers.rep2):
            db.session.get(Customer, cid).protected_until = utcnow() - timedelta(days=1)
        db.session.commit()
    assert _move(login_as("rep"), world.deal, world.deal_version(), stage="won",
                 amount="5000").status_code == 303
    with app.app_context():
        assert expire_pool() == 1  # rep2's customer only
        won = db.session.get(Customer, world.customers.rep)
        assert (won.owner_id, won.protected_until) == (world.rep.id, None)
        assert db.session.get(Customer, world.customers.rep2).owner_id is None


def test_other_teams_get_404_and_a_rep_sees_only_their_own_sheet(world, login_as):
    assert login_as("rep3").get(f"/deals/{world.deal}").status_code == 404
    assert login_as("manager2").get(f"/deals/{world.deal}/edit").status_code == 404
    assert login_as("rep").get(f"/deals/{world.deal3}").status_code == 404
    rep = login_as("rep")
    assert rep.get(f"/pipeline/sheet?rep={world.rep2.id}").status_code == 404
    assert login_as("manager").get(f"/pipeline/sheet?rep={world.rep3.id}").status_code == 404
    board = rep.get("/pipeline").get_data(as_text=True)
    assert "年度设备采购" in board and "门店收银系统" not in board


def test_htmx_move_returns_the_card_and_tells_the_board(world, login_as):
    rep = login_as("rep")
    response = rep.post(f"/deals/{world.deal}/move",
                        data={"stage": "intent", "version": str(world.deal_version()),
                              "back": "/pipeline"},
                        headers={"HX-Request": "true", "X-CSRFToken": rep.csrf_token()})
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "dealMoved"
    html = response.get_data(as_text=True)
    assert "<html" not in html and f'id="deal-card-{world.deal}"' in html
    refused = rep.post(f"/deals/{world.deal}/move",
                       data={"stage": "won", "version": str(world.deal_version())},
                       headers={"HX-Request": "true", "X-CSRFToken": rep.csrf_token()})
    assert refused.status_code == 200 and "HX-Trigger" not in refused.headers
    assert 'aria-invalid="true"' in refused.get_data(as_text=True)


def test_board_columns_count_and_weigh(app, world, make_deal, login_as):
    make_deal(world.customers.rep, title="甲", grade="A", amount="10000")
    make_deal(world.customers.rep, title="乙", grade="C", amount="10000", stage="intent")
    page = login_as("rep").get("/pipeline?stage=inquiry").get_data(as_text=True)
    # Inquiry holds the world's deal (B, no amount) and 甲: 2 deals, ¥10,000, weighted 8,000.
    assert 'id="column-inquiry">咨询 <span class="count">2</span>' in page
    assert "¥10,000" in page and "¥8,000" in page
    filtered = login_as("manager").get(f"/pipeline?grade=C&owner={world.rep.id}")
    assert "乙" in filtered.get_data(as_text=True) and "甲" not in filtered.get_data(as_text=True)


def _add_follow_up(app, customer_id, author_id, when, summary, next_date=None, step=None):
    with app.app_context():
        db.session.add(FollowUp(customer_id=customer_id, author_id=author_id,
                                kind=FollowUpKind.CALL, occurred_at=when, summary=summary,
                                next_step=step, next_date=next_date, created_at=when))
        db.session.commit()


def test_sheet_since_yesterday_and_order(app, world, make_customer, make_deal, login_as):
    now = utcnow()
    second = make_customer(world.rep, name="钱八")
    third = make_customer(world.rep, name="周九")
    a_late = make_deal(second, title="A晚", grade="A")
    a_soon = make_deal(third, title="A早", grade="A")
    make_deal(second, title="赢了的", grade="A", stage="won", amount="100")
    _add_follow_up(app, second, world.rep.id, now - timedelta(days=20), "老电话",
                   next_date=(now + timedelta(days=9)).date(), step="报价")
    _add_follow_up(app, third, world.rep.id, now - timedelta(days=3), "上周面谈",
                   next_date=(now + timedelta(days=2)).date(), step="签合同")
    with app.app_context():
        # An old change does not count; one from this morning does.
        db.session.add(DealEvent(deal_id=a_late, customer_id=second, owner_id=world.rep.id,
                                 kind=DealChange.GRADE, from_value="C", to_value="A",
                                 direction=1, at=now - timedelta(days=5)))
        regrade_deal(db.session.get(Deal, world.deal), db.session.get(User, world.rep.id),
                     Grade.C)
        db.session.commit()
    page = login_as("rep").get("/pipeline/sheet").get_data(as_text=True)
    order = [page.index(title) for title in ("A早", "A晚", "年度设备采购")]
    assert order == sorted(order), "A first, then by next date"
    assert "赢了的" not in page  # open deals only
    world_row = page[page.index('id="deal-' + str(world.deal)):]
    assert "B → C" in world_row.split("</li>")[0]
    late_row = page[page.index(f'id="deal-{a_late}"'):].split("</li>")[0]
    assert "C → A" not in late_row
    soon_row = page[page.index(f'id="deal-{a_soon}"'):].split("</li>")[0]
    assert "上周面谈" in soon_row and "签合同" in soon_row


def test_manager_reviews_and_the_rep_sees_the_note(app, world, login_as):
    manager = login_as("manager")
    page = manager.get(f"/pipeline/sheet?rep={world.rep.id}").get_data(as_text=True)
    assert "年度设备采购" in page and f"/deals/{world.deal}/review" in page
    response = manager.post_form(f"/deals/{world.deal}/review",
                                 {"note": "先约老板见面",
                                  "back": f"/pipeline/sheet?rep={world.rep.id}"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(DealReview.note)) == "先约老板见面"
    rep_page = login_as("rep").get("/pipeline/sheet").get_data(as_text=True)
    assert "先约老板见面" in rep_page and f"/deals/{world.deal}/review" not in rep_page


def test_sheet_walks_the_reps_of_a_team(world, login_as):
    manager = login_as("manager")
    first = manager.get(f"/pipeline/sheet?team={world.teams.sh1}").get_data(as_text=True)
    # sh1's reps by name: "Rep", "Rep Two".
    assert f'rel="next" href="/pipeline/sheet?rep={world.rep2.id}"' in first
    second = manager.get(f"/pipeline/sheet?rep={world.rep2.id}").get_data(as_text=True)
    assert f'rel="prev" href="/pipeline/sheet?rep={world.rep.id}"' in second
    assert 'rel="next"' not in second
    projector = manager.get(f"/pipeline/sheet?rep={world.rep.id}&view=projector")
    assert 'class="projector"' in projector.get_data(as_text=True)


def test_a_deals_of_a_team(world, make_deal, login_as):
    make_deal(world.customers.rep2, title="李四的大单", grade="A")
    page = login_as("manager").get(f"/pipeline/a-deals?team={world.teams.sh1}")
    html = page.get_data(as_text=True)
    assert "李四的大单" in html and "年度设备采购" not in html  # that one is B
    assert login_as("manager").get(f"/pipeline/a-deals?team={world.teams.sz}").status_code == 404


def test_admin_sets_grade_windows(app, world, login_as):
    admin = login_as("admin")
    form = {"name": "Shanghai 1", "parent_id": str(world.teams.east), "protection_days": "30",
            "holding_limit": "200", "expiry_warning_days": "3"}
    refused = admin.post_form(f"/admin/teams/{world.teams.sh1}",
                              {**form, "grade_a_days": "20", "grade_b_days": "10",
                               "grade_c_days": "30"})
    assert refused.status_code == 422
    assert admin.post_form(f"/admin/teams/{world.teams.sh1}",
                           {**form, "grade_a_days": "5", "grade_b_days": "10",
                            "grade_c_days": "21"}).status_code == 303
    from crm.accounts.models import Team

    with app.app_context():
        team = db.session.get(Team, world.teams.sh1)
        assert (team.grade_a_days, team.grade_b_days, team.grade_c_days) == (5, 10, 21)


def _bulk_deals(app, world, customer_ids, count):
    """`count` deals across every stage and grade, each with two events, in a few inserts."""
    now = utcnow()
    combos = itertools.cycle(itertools.product(list(Stage), list(Grade)))
    with app.app_context():
        start = (db.session.scalar(select(Deal.id).order_by(Deal.id.desc())) or 0) + 1
        rows, events = [], []
        for n, (stage, grade) in zip(range(count), combos, strict=False):
            customer_id = customer_ids[n % len(customer_ids)]
            rows.append({"id": start + n, "customer_id": customer_id, "owner_id": world.rep.id,
                         "title": f"批量{n}", "amount": Decimal(1000 + n), "stage": stage,
                         "grade": grade, "created_at": now, "updated_at": now,
                         "graded_at": now, "version": 1, "lost_reason": "价格"
                         if stage == Stage.LOST else None,
                         "expected_close": (now + timedelta(days=n % 40)).date()})
            for kind, before, after in ((DealChange.CREATE, None, "inquiry"),
                                        (DealChange.GRADE, "C", grade.value)):
                events.append({"deal_id": start + n, "customer_id": customer_id,
                               "owner_id": world.rep.id, "by_user_id": world.rep.id,
                               "kind": kind, "from_value": before, "to_value": after,
                               "direction": 1, "at": now - timedelta(hours=n % 48)})
        db.session.execute(insert(Deal), rows)
        db.session.execute(insert(DealEvent), events)
        db.session.execute(insert(DealReview), [
            {"deal_id": row["id"], "reviewer_id": world.manager.id, "note": "ok", "at": now}
            for row in rows[::3]])
        db.session.commit()


@pytest.mark.parametrize("url", ["/pipeline", "/pipeline/sheet", "/pipeline/a-deals"])
def test_query_count_does_not_grow_with_deals(app, world, make_customer, login_as, url):
    customers = [world.customers.rep] + [make_customer(world.rep) for _ in range(4)]
    for n, cid in enumerate(customers):
        _add_follow_up(app, cid, world.rep.id, utcnow() - timedelta(days=n), f"跟进{n}",
                       next_date=utcnow().date(), step="回访")
    _bulk_deals(app, world, customers, 10)
    rep = login_as("rep")
    rep.get(url)
    with count_queries(app) as few:
        small = rep.get(url)
    _bulk_deals(app, world, customers, 1000)
    with count_queries(app) as many:
        large = rep.get(url)
    assert small.status_code == large.status_code == 200
    # The large page really shows the many deals (open ones on the sheet, A ones on a-deals).
    assert large.get_data(as_text=True).count("批量") > 10 * small.get_data(as_text=True) \
        .count("批量") > 0 or url in ("/pipeline", "/pipeline/sheet")  # those show a page of them
    assert few.count == many.count


def test_demo_has_deals_in_every_stage_and_grade_for_every_rep(app, client):
    from crm.accounts.models import Role
    from crm.demo import DEMO_PASSWORD
    from crm.pipeline.models import OPEN_STAGES

    app.test_cli_runner().invoke(args=["seed-demo"])
    with app.app_context():
        reps = db.session.scalars(select(User.id).where(User.role == Role.REP)).all()
        combos = set(db.session.execute(select(Deal.owner_id, Deal.stage, Deal.grade)
                                        .where(Deal.stage.in_(OPEN_STAGES))).all())
        expected = {(rep, stage, grade) for rep in reps for stage in OPEN_STAGES
                    for grade in Grade}
        assert expected <= combos
        recent = set(db.session.scalars(select(DealEvent.owner_id).where(
            DealEvent.at >= utcnow() - timedelta(days=1), DealEvent.kind != DealChange.CREATE)))
        assert recent == set(reps)
    client.login("rep@demo.local", DEMO_PASSWORD)
    sheet = client.get("/pipeline/sheet").get_data(as_text=True)
    assert 'class="change up"' in sheet or 'class="change down"' in sheet


def test_today_counts_my_open_deals_by_grade(world, make_deal, login_as):
    make_deal(world.customers.rep, title="A单", grade="A")
    html = login_as("rep").get("/").get_data(as_text=True)
    section = html[html.index('id="my-pipeline"'):].split("</section>")[0]
    assert '<span class="grade-badge grade-A">A</span> 1' in section
    assert '<span class="grade-badge grade-B">B</span> 1' in section
    assert '<span class="grade-badge grade-C">C</span> 0' in section
    assert 'id="my-pipeline"' not in login_as("office").get("/").get_data(as_text=True)


def test_a_won_customer_stays_protected_when_transferred(app, world, login_as):
    assert _move(login_as("rep"), world.deal, world.deal_version(), stage="won",
                 amount="5000").status_code == 303
    response = login_as("manager").post_form(
        "/customers/transfer", {"customer_ids": str(world.customers.rep),
                                "to_user_id": str(world.rep2.id), "reason": "调整"})
    assert response.status_code == 303
    with app.app_context():
        won = db.session.get(Customer, world.customers.rep)
        assert (won.owner_id, won.protected_until) == (world.rep2.id, None)
    # The new owner of the customer sees its deals.
    assert login_as("rep2").get(f"/deals/{world.deal}").status_code == 200


def test_open_deals_follow_a_transferred_customer_and_closed_ones_stay(app, world, login_as,
                                                                        make_deal):
    from crm.pipeline.models import Deal

    won = make_deal(world.customers.rep, title="去年的单", stage="won", by=world.rep,
                    amount="8000")
    manager = login_as("manager")
    assert manager.post_form("/customers/transfer", {
        "customer_ids": str(world.customers.rep), "to_user_id": str(world.rep2.id),
        "reason": "调整"}).status_code == 303
    with app.app_context():
        assert db.session.get(Deal, world.deal).owner_id == world.rep2.id
        assert db.session.get(Deal, won).owner_id == world.rep.id
    board = login_as("rep2").get("/pipeline").get_data(as_text=True)
    assert f"/deals/{world.deal}" in board


def test_after_sales_needs_an_amount_like_won(app, world, login_as):
    rep = login_as("rep")
    refused = _move(rep, world.deal, world.deal_version(), stage="after_sales")
    assert refused.status_code == 422
    assert _deal(app, world.deal).stage == Stage.INQUIRY
    with app.app_context():
        assert db.session.get(Customer, world.customers.rep).protected_until is not None
    assert _move(rep, world.deal, world.deal_version(), stage="after_sales",
                 amount="12000").status_code == 303
    assert _deal(app, world.deal).amount == Decimal("12000")


def test_seeing_a_deal_is_not_changing_it(app, world, login_as):
    """After a won customer moves to rep2, rep2 sees rep's won deal but may not rewrite it,
    and rep may not reopen a deal on a customer that is no longer his."""
    assert _move(login_as("rep"), world.deal, world.deal_version(), stage="won",
                 amount="5000").status_code == 303
    assert login_as("manager").post_form("/customers/transfer", {
        "customer_ids": str(world.customers.rep), "to_user_id": str(world.rep2.id),
        "reason": "调整"}).status_code == 303
    rep2 = login_as("rep2")
    page = rep2.get(f"/deals/{world.deal}")
    assert page.status_code == 200
    assert f'action="/deals/{world.deal}/move"' not in page.get_data(as_text=True)
    assert _move(rep2, world.deal, world.deal_version(), stage="lost",
                 reason="改写").status_code == 403
    assert rep2.get(f"/deals/{world.deal}/edit").status_code == 403
    assert _move(login_as("rep"), world.deal, world.deal_version(),
                 stage="negotiation").status_code == 403
    assert _deal(app, world.deal).stage == Stage.WON
    assert _move(login_as("manager"), world.deal, world.deal_version(),
                 stage="after_sales").status_code == 303


def test_open_deals_go_to_whoever_claims_the_customer_from_the_pool(app, world, login_as):
    rep = login_as("rep")
    assert rep.post_form(f"/customers/{world.customers.rep}/release",
                         {"reason": "联系不上", "version": str(world.version_of(
                             world.customers.rep))}).status_code == 303
    assert login_as("rep2").post_form(f"/customers/{world.customers.rep}/claim", {
        "version": str(world.version_of(world.customers.rep))}).status_code == 303
    assert _deal(app, world.deal).owner_id == world.rep2.id
    assert _move(rep, world.deal, world.deal_version(), stage="intent").status_code == 404


def test_clearing_the_close_date_lets_the_grade_decide(app, world, login_as):
    deal = _deal(app, world.deal)
    response = login_as("rep").post_form(f"/deals/{world.deal}", {
        "title": deal.title, "grade": "A", "stage": deal.stage.value, "amount": "",
        "expected_close": "", "reason": "", "version": str(deal.version)})
    assert response.status_code == 303
    expected = _deal(app, world.deal).expected_close
    assert expected is not None
    assert (expected - utcnow().date()).days in (6, 7, 8)  # the A window, 7 days


def test_days_since_contact_count_calendar_days_where_the_user_is(app, world, login_as):
    zone = ZoneInfo("Asia/Shanghai")
    late_last_night = (utcnow().astimezone(zone).replace(hour=0, minute=0, second=0,
                                                        microsecond=0) - timedelta(hours=1))
    with app.app_context():
        db.session.get(Customer, world.customers.rep).last_contact_at = late_last_night
        db.session.commit()
    board = login_as("rep").get("/pipeline", headers={"Accept-Language": "en"})
    card = board.get_data(as_text=True).split(f'id="deal-card-{world.deal}"')[1]
    card = card.split("</article>")[0]
    assert "Contacted 1 day ago" in card and "Contacted today" not in card


def test_a_manager_opening_the_sheet_starts_with_a_rep_of_their_team(app, world, login_as):
    page = login_as("manager").get("/pipeline/sheet", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert "Review sheet: Rep<" in html
    assert "Review sheet: Manager" not in html
    assert "年度设备采购" in html  # the rep's open deal


def test_a_card_shows_the_next_date_of_its_customers_latest_follow_up(app, world, login_as):
    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
    with app.app_context():  # after the world's own follow-ups on this customer
        latest = db.session.scalar(select(func.max(FollowUp.occurred_at))
                                   .where(FollowUp.customer_id == world.customers.rep))

    def card_text() -> str:
        board = login_as("rep").get("/pipeline", headers={"Accept-Language": "en"})
        card = board.get_data(as_text=True).split(f'id="deal-card-{world.deal}"')[1]
        return card.split("</article>")[0]

    _add_follow_up(app, world.customers.rep, world.rep.id, latest + timedelta(seconds=1), "拜访",
                   next_date=today - timedelta(days=3))
    assert "3 days overdue" in card_text()
    # A later follow-up is the plan now: its date shows, the earlier one's is gone.
    _add_follow_up(app, world.customers.rep, world.rep.id, latest + timedelta(seconds=2), "电话",
                   next_date=today + timedelta(days=5))
    text = card_text()
    assert "overdue" not in text and "Next:" in text
    # The latest says nothing about next time: the card shows no plan.
    _add_follow_up(app, world.customers.rep, world.rep.id, latest + timedelta(seconds=3), "短信")
    assert "Next:" not in card_text()
