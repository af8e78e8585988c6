"""At scale: statements per page constant in the data, compressed pages, static files under
hashed names cached for a year, a bounded sheet and a light board, indexed search, players
that load nothing until played, and the bench-seed command."""

import gzip
import itertools
import re
from datetime import timedelta
from decimal import Decimal

import brotli
import pytest
from sqlalchemy import func, insert, select, text

from crm.accounts.models import User
from crm.clock import utcnow
from crm.customers.models import Contact, Customer
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.pipeline.models import Deal, Grade, Stage
from crm.recordings.models import Recording
from tests.conftest import count_queries

# The pages bench/pages.py measures: (who, URL); {card} is the rep's customer 张三.
PAGES = [
    ("rep", "/"), ("manager", "/"),
    ("rep", "/customers?tab=mine"), ("manager", "/customers?tab=team"),
    ("rep", "/customers?tab=pool"),
    ("office", "/customers?tab=all&q=科技"), ("manager", "/customers?tab=team&q=zs"),
    ("manager", "/customers?tab=team&q=13800"), ("office", "/customers?tab=all&q=qqxxzz"),
    ("office", "/customers?tab=all&q=华东机"),
    ("rep", "{card}"), ("manager", "/pipeline"), ("manager", "/pipeline/sheet"),
    ("manager", "/reviews"),
]
BROWSER = {"Accept-Encoding": "gzip, deflate, br"}


def _counts(app, clients, world) -> dict:
    counts = {}
    for who, url in PAGES:
        url = url.format(card=f"/customers/{world.customers.rep}")
        clients[who].get(url)  # caches and compiled templates
        with count_queries(app) as counted:
            response = clients[who].get(url)
        assert response.status_code == 200, (who, url, response.status_code)
        counts[who, url] = counted.count
    return counts


@pytest.mark.committed
def test_statements_per_page_do_not_grow_with_the_data(app, world, login_as):
    from crm.bench_seed import seed_at_scale

    clients = {who: login_as(who) for who in ("rep", "manager", "office")}

    def grow(customers):
        with app.app_context():
            seed_at_scale(customers=customers, follow_ups=10 * customers, teams=4,
                          people_per_team=3, say=lambda _line: None)
            db.session.commit()

    grow(100)  # every list, search and section has something to show
    before = _counts(app, clients, world)
    grow(500)
    after = _counts(app, clients, world)
    assert after == before
    # The card gathers every area's part of a customer (deals, timeline, fit and look-alikes,
    # feedback and care, tasks): one or two statements each, none growing with the data.
    card = after.pop(("rep", f"/customers/{world.customers.rep}"))
    assert card <= 24, card
    assert max(after.values()) <= 15, after


def test_pages_are_compressed(world, login_as):
    rep = login_as("rep")
    br = rep.get("/customers", headers=BROWSER)
    assert br.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in br.headers["Vary"]
    assert "<html" in brotli.decompress(br.get_data()).decode()
    zipped = rep.get("/customers", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "<html" in gzip.decompress(zipped.get_data()).decode()
    plain = rep.get("/customers")
    assert "Content-Encoding" not in plain.headers
    assert len(br.get_data()) < len(plain.get_data()) / 3


def _static_urls(html: str) -> list[str]:
    return sorted(set(re.findall(r'(?:href|src)="(/static/[^"#]+)', html)))


def test_static_files_have_hashed_names_and_are_cached_for_a_year(world, login_as):
    rep = login_as("rep")
    html = rep.get("/customers").get_data(as_text=True)  # Today loads no htmx (offline.js)
    urls = _static_urls(html)
    assert {u.split("/")[-1].split(".")[0] for u in urls} >= {"app", "htmx", "icons"}
    javascript = 0
    for url in urls:
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", url), url
        response = rep.get(url, headers=BROWSER)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        if url.endswith((".js", ".css", ".svg")):
            assert response.headers["Content-Encoding"] == "br"
        if url.endswith(".js"):
            javascript += len(rep.get(url, headers={"Accept-Encoding": "gzip"}).get_data())
    # Every page ships the same two scripts: at most 25 KB gzipped, htmx included.
    assert 0 < javascript <= 25 * 1024
    # The plain names still answer (for anything that hard-codes them), revalidated.
    assert rep.get("/static/app.js").status_code == 200


def _many_deals(app, world, count: int) -> None:
    """`count` open deals of the rep, spread over the stages of the board and sheet."""
    now = utcnow()
    stages = itertools.cycle([Stage.INQUIRY, Stage.FIRST_MEETING, Stage.INTENT,
                              Stage.NEGOTIATION, Stage.WON, Stage.LOST])
    grades = itertools.cycle(list(Grade))
    with app.app_context():
        db.session.execute(insert(Deal), [
            {"customer_id": world.customers.rep, "owner_id": world.rep.id,
             "title": f"大单{n}", "amount": Decimal(1000 + n), "stage": next(stages),
             "grade": next(grades), "created_at": now, "updated_at": now, "graded_at": now,
             "version": 1, "lost_reason": "价格", "expected_close": (now + timedelta(
                 days=n % 30)).date()} for n in range(count)])
        db.session.commit()


def test_board_at_150_deals_is_light(app, world, login_as):
    _many_deals(app, world, 150)
    page = login_as("manager").get("/pipeline").get_data(as_text=True)
    cards = page.count('class="deal-card ')
    assert cards >= 120
    # One shared Move dialog, not a form per card (the layout has its own few).
    assert page.count("<form") <= 5 and 'hx-post="/deals/' not in page
    assert page.count('id="move-dialog"') == 1
    assert page.count('class="button move-link"') == cards
    assert len(page.encode()) < 130_000, len(page.encode())


def test_sheet_at_150_deals_shows_pages_of_50(app, world, login_as):
    _many_deals(app, world, 150)  # 100 open (four of six stages), and the world's own
    manager = login_as("manager")
    first = manager.get(f"/pipeline/sheet?rep={world.rep.id}").get_data(as_text=True)
    assert first.count('class="sheet-row ') == 50
    assert first.split('class="sheet-row grade-')[1].startswith("A")  # A first
    assert "page=2" in first
    assert len(first.encode()) < 90_000, len(first.encode())
    last = manager.get(f"/pipeline/sheet?rep={world.rep.id}&page=3").get_data(as_text=True)
    assert 0 < last.count('class="sheet-row ') <= 50
    assert manager.get(f"/pipeline/sheet?rep={world.rep.id}&page=99").status_code == 200
    assert manager.get(f"/pipeline/sheet?rep={world.rep.id}&page=x").status_code == 200


def test_search_goes_through_the_index_and_follows_changes(app, world, login_as, make_customer):
    office = login_as("office")

    def found(needle):
        page = office.get("/customers", query_string={"tab": "all", "q": needle})
        assert page.status_code == 200
        return page.get_data(as_text=True)

    assert "张三" in found("华东机")          # organisation, 3 characters: the index
    assert "张三" in found("zhangsan")        # pinyin
    assert "张三" in found("00138000")        # phone digits
    assert "张三" not in found("qqxxzz")
    assert "孙七" in found("zs") or "张三" in found("zs")  # two letters: a scan, same answer
    assert "张三" not in found("138_0")  # a LIKE wildcard typed is a character, not a wildcard
    make_customer(world.rep, name="欧阳锋锐")
    assert "欧阳锋锐" in found("欧阳锋")
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.name == "欧阳锋锐")).one()
        from crm.customers.search import refresh_search_text
        customer.name = "慕容复兴"
        refresh_search_text(customer)
        db.session.commit()
    assert "慕容复兴" not in found("欧阳锋")
    assert "慕容复兴" in found("慕容复")
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            names = set(db.session.scalars(text(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'customers'")))
            assert {"ix_customers_search_text_trgm", "ix_customers_search_contact_trgm"} <= names
        else:
            assert db.session.scalar(text("SELECT count(*) FROM customers_fts WHERE "
                                          "search_text LIKE '%慕容复%'")) == 1


def test_waveform_is_one_path_and_players_preload_nothing(app):
    recording = Recording(id=7, peaks=[0, 50, 100, 3], duration_seconds=4.0,
                          status="ready")
    assert recording.waveform_path == "M0 49h.7v2h-.7zM1 25h.7v50h-.7zM2 0h.7v100h-.7z" \
                                      "M3 48.5h.7v3h-.7z"
    with app.test_request_context():
        template = app.jinja_env.get_template("recordings/_waveform.html")
        svg = template.render(recording=recording, markers=[])
    assert svg.count("<path") == 1 and svg.count("<rect") == 1  # the played part
    source = (app.jinja_env.loader.get_source(app.jinja_env, "recordings/_recording.html")[0])
    assert "preload=\"{{ preload|default('none') }}\"" in source


@pytest.mark.committed
def test_bench_seed_fills_an_empty_database_at_the_asked_scale(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["bench-seed", "--customers", "300", "--follow-ups", "3000",
                                 "--teams", "5"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        bench_people = db.session.scalar(select(func.count()).select_from(User)
                                         .where(User.email.like("%@bench.local")))
        assert bench_people == 40  # four leaf teams of ten
        assert db.session.scalar(select(func.count()).select_from(Customer)) >= 300
        assert db.session.scalar(select(func.count()).select_from(FollowUp)) >= 3000
        assert db.session.scalar(select(func.count()).select_from(Contact)) >= 300
        open_deals = db.session.execute(
            select(Deal.owner_id, func.count()).where(Deal.stage.in_(
                ["inquiry", "first_meeting", "intent", "negotiation"]))
            .group_by(Deal.owner_id)).all()
        assert open_deals and all(count >= 20 for _owner, count in open_deals)
        # What the app reads back is what it would have written itself.
        customer = db.session.scalars(select(Customer).order_by(Customer.id.desc())).first()
        assert customer.created_at.tzinfo is not None and customer.search_text
        # Phone numbers as a real customer base has them: distinct, over many mobile blocks
        # (one arithmetic run would put the same digits in every row of the search index).
        phones = db.session.scalars(select(Customer.phone).order_by(Customer.id.desc())
                                    .limit(300)).all()
        assert len(phones) >= 300 and len(set(phones)) == len(phones)
        assert len({p[:3] for p in phones}) >= 20 and len({p[3:7] for p in phones}) >= 200
    again = runner.invoke(args=["bench-seed", "--customers", "10", "--follow-ups", "10"])
    assert again.exit_code != 0 and "already" in again.output


def test_sheet_rows_share_one_review_form(app, world, login_as):
    from crm.pipeline.models import DealReview

    _many_deals(app, world, 30)
    manager = login_as("manager")
    page = manager.get(f"/pipeline/sheet?rep={world.rep.id}").get_data(as_text=True)
    assert page.count('<form id="sheet-review"') == 1
    assert page.count('form="sheet-review"') == 2 * page.count('class="sheet-row ')
    # Every row's note travels in the one form; the button's formaction picks the deal.
    response = manager.post_form(f"/deals/{world.deal}/review", {
        f"note-{world.deal}": "先约老板", "note-999999": "别的行", "back": "/pipeline/sheet"})
    assert response.status_code == 303
    with app.app_context():
        review = db.session.scalars(select(DealReview).where(
            DealReview.deal_id == world.deal)).one()
        assert review.note == "先约老板"


def test_the_database_keeps_which_follow_up_is_still_the_plan(app, world, make_customer):
    """However a follow-up is written (the app, or a plain INSERT), the latest one of its
    customer is the plan and the earlier ones are superseded; deleting the latest brings
    the one before back."""
    from crm.followups.logging import follow_ups_due

    customer = make_customer(world.rep, name="计划客户")
    now = utcnow()
    with app.app_context():
        def add(days_ago):
            db.session.execute(insert(FollowUp).values(
                customer_id=customer, author_id=world.rep.id, kind="call",
                occurred_at=now - timedelta(days=days_ago), summary=f"{days_ago}",
                next_date=(now - timedelta(days=1)).date(), created_at=now, version=1))
            return db.session.scalar(select(func.max(FollowUp.id)))

        def superseded():
            return dict(db.session.execute(select(FollowUp.summary, FollowUp.superseded)
                                           .where(FollowUp.customer_id == customer)).all())

        add(5)
        latest = add(2)
        add(9)  # entered late: superseded from the start
        assert superseded() == {"5": True, "2": False, "9": True}
        due = [f.id for f in follow_ups_due(world.rep.id, now.date())]
        assert latest in due
        db.session.execute(FollowUp.__table__.delete().where(FollowUp.id == latest))
        assert superseded() == {"5": False, "9": True}
        db.session.execute(FollowUp.__table__.update().where(FollowUp.summary == "9")
                           .values(occurred_at=now))
        assert superseded() == {"5": True, "9": False}
        db.session.rollback()


@pytest.mark.recording
def test_the_database_keeps_whose_recording_it_is(app, world, login_as):
    """A recording belongs to its follow-up's author, whoever uploaded it (a manager on a
    ride-along) and however it was written: the review queue and its count go by that."""
    from crm.reviews.worklist import unreviewed, waiting
    from tests.conftest import same_audio_again

    with app.app_context():
        source = db.session.get(Recording, world.recording)
        rep_id = source.follow_up.author_id
        by_manager = same_audio_again(source, source.follow_up,
                                      db.session.get(User, world.manager.id))
        db.session.execute(insert(Recording).values(
            follow_up_id=source.follow_up_id, uploaded_by_id=world.manager.id,
            created_at=utcnow(), original_sha256=source.original_sha256,
            original_size=source.original_size, original_type=source.original_type,
            status="ready", attempts=1))
        authors = db.session.scalars(select(Recording.author_id).where(
            Recording.follow_up_id == source.follow_up_id)).all()
        assert len(authors) == 3 and set(authors) == {rep_id}
        manager = db.session.get(User, world.manager.id)
        queued = [r.id for r in unreviewed(manager, rep_id=rep_id, kind=None,
                                           after=None).items]
        assert by_manager.id in queued and world.recording in queued
        assert waiting(manager).count == len(queued) == 3
        db.session.rollback()
    html = login_as("manager").get("/reviews").get_data(as_text=True)
    assert f'action="/recordings/{world.recording}/review"' in html
