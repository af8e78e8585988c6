"""Fixtures: an app on a fresh database (SQLite by default, PostgreSQL when DATABASE_URL is
set), the real Redis (embedded unless REDIS_URL is set), factories, and clients per role.

The suite wipes the database and the Redis database it is pointed at.
"""

import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, text

# Every path the app writes goes to a throwaway instance folder.
_INSTANCE = Path(tempfile.mkdtemp(prefix="crm-test-"))
os.environ["CRM_INSTANCE_DIR"] = str(_INSTANCE)

from crm import create_app  # noqa: E402
from crm.accounts.models import Role, Team, User  # noqa: E402
from crm.accounts.teams import create_team  # noqa: E402
from crm.accounts.users import create_user  # noqa: E402
from crm.extensions import db  # noqa: E402

PASSWORD = "secret-pass-1"
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


class CRMClient(FlaskClient):
    """A test client that sends what a browser sends: a same-origin Referer and CSRF tokens."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_REFERER"] = "https://localhost/"

    def csrf_token(self) -> str:
        page = self.get("/", follow_redirects=True)
        match = CSRF_META.search(page.get_data(as_text=True))
        assert match, "no csrf-token meta on the page"
        return match.group(1)

    def post_form(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def login(self, email: str, password: str = PASSWORD, headers=None, **form_extra):
        return self.post_form("/login", {"email": email, "password": password, **form_extra},
                              headers=headers)


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    from crm.embedded import EmbeddedRedis

    server = EmbeddedRedis(_INSTANCE)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def database_url():
    return os.environ.get("DATABASE_URL") or f"sqlite:///{_INSTANCE / 'test.sqlite3'}"


def _overrides(database_url, redis_url, **extra):
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
            **extra}


@pytest.fixture(scope="session")
def _schema(database_url, redis_url):
    """Build the schema once per run through the migrations themselves."""
    from flask_migrate import upgrade

    app = create_app(_overrides(database_url, redis_url))
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
        db.engine.dispose()
    return True


def _wipe(app) -> None:
    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as connection:
            if db.engine.dialect.name == "postgresql":
                connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for name in reversed(tables):
                    connection.execute(text(f"DELETE FROM {name}"))
        from crm.queue import get_redis

        get_redis().flushdb()


@pytest.fixture
def app_config():
    """Per-test configuration overrides; a test module may override this fixture."""
    return {}


@pytest.fixture
def app(_schema, database_url, redis_url, app_config):
    app = create_app(_overrides(database_url, redis_url, **app_config))
    app.test_client_class = CRMClient
    _wipe(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app) -> CRMClient:
    return app.test_client()


# Factories -------------------------------------------------------------------------------

_HASH_CACHE: dict[str, str] = {}


def _password_hash(password: str) -> str:
    from werkzeug.security import generate_password_hash

    if password not in _HASH_CACHE:
        _HASH_CACHE[password] = generate_password_hash(password)
    return _HASH_CACHE[password]


def snapshot(user: User) -> SimpleNamespace:
    return SimpleNamespace(id=user.id, email=user.email, name=user.name, role=user.role,
                           team_id=user.team_id)


@pytest.fixture
def make_team(app):
    def make(name: str, parent_id: int | None = None) -> int:
        with app.app_context():
            parent = db.session.get(Team, parent_id) if parent_id else None
            team = create_team(name, parent)
            db.session.commit()
            return team.id

    return make


@pytest.fixture
def make_user(app):
    counter = iter(range(1, 10_000))

    def make(role: Role = Role.REP, team_id: int | None = None, email: str | None = None,
             name: str | None = None, password: str = PASSWORD, **fields) -> SimpleNamespace:
        n = next(counter)
        with app.app_context():
            team = db.session.get(Team, team_id) if team_id else None
            user = create_user(email=email or f"{role.value}{n}@example.test",
                               name=name or f"{role.value.title()} {n}", role=role, team=team,
                               password_hash=_password_hash(password), **fields)
            db.session.commit()
            return snapshot(user)

    return make


@pytest.fixture
def make_customer(app):
    """A customer owned by `owner` (a snapshot or id) or in the pool; returns its id."""
    counter = iter(range(1, 100_000))

    def make(owner=None, name: str | None = None, tags: list[str] | None = None,
             **values) -> int:
        from crm.customers.editing import create_customer

        n = next(counter)
        with app.app_context():
            owner_user = db.session.get(User, getattr(owner, "id", owner)) if owner else None
            customer = create_customer({"name": name or f"客户{n:04d}", **values}, None,
                                       owner=owner_user, tags=tags)
            db.session.commit()
            return customer.id

    return make


@pytest.fixture
def add_contact(app):
    def add(customer_id: int, name: str, phone: str | None = None) -> int:
        from crm.customers.editing import save_contact
        from crm.customers.models import Customer

        with app.app_context():
            customer = db.session.get(Customer, customer_id)
            contact = save_contact(customer, {"name": name, "phone": phone}, None)
            db.session.commit()
            return contact.id

    return add


@pytest.fixture
def make_deal(app):
    """An open deal on a customer, owned by the customer's owner; returns its id."""

    def make(customer_id: int, title: str = "设备采购", grade: str = "C",
             stage: str = "inquiry", amount=None, by=None) -> int:
        from crm.customers.models import Customer
        from crm.pipeline.deals import create_deal
        from crm.pipeline.models import Grade, Stage

        with app.app_context():
            by_user = db.session.get(User, getattr(by, "id", by)) if by else None
            deal = create_deal(db.session.get(Customer, customer_id), by_user, title=title,
                               grade=Grade(grade), stage=Stage(stage), amount=amount)
            db.session.commit()
            return deal.id

    return make


def _visit_with_companion(app, customer_id, author, companion) -> int:
    """A visit the rep logged with their manager riding along."""
    from crm.clock import utcnow
    from crm.customers.models import Customer
    from crm.followups.logging import log_follow_up
    from crm.followups.models import FollowUpKind

    with app.app_context():
        follow_up = log_follow_up(
            db.session.get(Customer, customer_id), db.session.get(User, author.id),
            kind=FollowUpKind.VISIT, occurred_at=utcnow(), summary="初次拜访",
            companions=[db.session.get(User, companion.id)])
        db.session.commit()
        return follow_up.id


def _recording_of(app, follow_up_id: int, uploader) -> int:
    """A short recording on that visit, uploaded and processed as the worker would."""
    from crm.followups.models import FollowUp
    from crm.recordings.attaching import attach_recording
    from crm.recordings.processing import process_recording
    from crm.recordings.samples import write_sample
    from crm.storage import audio_store

    with app.app_context():
        sample = write_sample(_INSTANCE / f"sample-{follow_up_id}.wav", "wav", seconds=1.0)
        recording = attach_recording(db.session.get(FollowUp, follow_up_id),
                                     db.session.get(User, uploader.id),
                                     audio_store().keep_path(sample), "audio/wav",
                                     consent_confirmed=True)
        db.session.commit()
        process_recording(recording.id)
        return recording.id


def _review_maker(app, world):
    """world.review("draft" | "finished"): the manager's review of a copy of world.recording,
    made on first use (so tests that never ask pay nothing) with one comment and one action."""
    made = {}

    def review(state: str = "finished") -> SimpleNamespace:
        if state not in made:
            made[state] = _make_review(app, world, state)
        return made[state]

    return review


def same_audio_again(source, follow_up, uploader):
    """The same bytes uploaded again on `follow_up` (in an app context): processed at once,
    since the worker reuses the result it already has for them."""
    from crm.recordings.attaching import attach_recording
    from crm.recordings.processing import process_recording
    from crm.storage import StoredFile, audio_store

    stored = StoredFile(source.original_sha256, source.original_size,
                        audio_store().path_for(source.original_sha256))
    recording = attach_recording(follow_up, uploader, stored, source.original_type,
                                 consent_confirmed=True)
    db.session.commit()
    process_recording(recording.id)
    return recording


def _make_review(app, world, state: str) -> SimpleNamespace:
    from datetime import timedelta

    from crm.clock import utcnow
    from crm.recordings.models import Recording
    from crm.reviews import reviewing
    from crm.reviews.rubric import ITEM_KEYS

    with app.app_context():
        source = db.session.get(Recording, world.recording)
        # A review is per recording: another upload of the same audio.
        copy = same_audio_again(source, source.follow_up, source.uploaded_by)
        manager = db.session.get(User, world.manager.id)
        review = reviewing.start_review(copy, manager)
        comment = reviewing.add_comment(review, manager, at_seconds=0.5, kind="issue",
                                        body="开场白太长")
        action = reviewing.add_action(review, "先问需求再介绍产品",
                                      utcnow().date() + timedelta(days=7))
        if state == "finished":
            for key in ITEM_KEYS:
                reviewing.set_score(review, key, 3)
            reviewing.finish_review(review)
        db.session.commit()
        return SimpleNamespace(id=review.id, comment=comment.id, action=action.id,
                               recording=copy.id, version=review.version)


@pytest.fixture
def world(app, make_team, make_user, make_customer, add_contact, make_deal):
    """The shape of a real company: two regions, teams below them, every role, an outsider.

    east (region_manager) ─┬─ sh1: manager, rep, rep2      south ── sz: manager2, rep3
                           └─ hz:  hz_rep                    empty (no one)
    customers: one each for rep, rep2, hz_rep and rep3, and one in the pool.
    deals: one on rep's customer (`deal`), one on rep3's (`deal3`).
    """
    east = make_team("East")
    sh1 = make_team("Shanghai 1", east)
    hz = make_team("Hangzhou", east)
    south = make_team("South")
    sz = make_team("Shenzhen", south)
    empty = make_team("Empty")
    people = SimpleNamespace(
        teams=SimpleNamespace(east=east, sh1=sh1, hz=hz, south=south, sz=sz, empty=empty),
        admin=make_user(Role.ADMIN, email="admin@example.test", name="Admin"),
        office=make_user(Role.OFFICE, email="office@example.test", name="Office"),
        region_manager=make_user(Role.MANAGER, east, email="region@example.test"),
        manager=make_user(Role.MANAGER, sh1, email="manager@example.test", name="Manager"),
        rep=make_user(Role.REP, sh1, email="rep@example.test", name="Rep"),
        rep2=make_user(Role.REP, sh1, email="rep2@example.test", name="Rep Two"),
        hz_rep=make_user(Role.REP, hz, email="hzrep@example.test"),
        manager2=make_user(Role.MANAGER, sz, email="manager2@example.test"),
        rep3=make_user(Role.REP, sz, email="rep3@example.test", name="Rep Three"),
    )
    people.customers = SimpleNamespace(
        rep=make_customer(people.rep, name="张三", organisation="华东机械",
                          phone="13800138000", tags=["制造业"]),
        rep2=make_customer(people.rep2, name="李四", phone="13900139000"),
        hz=make_customer(people.hz_rep, name="王五"),
        rep3=make_customer(people.rep3, name="赵六", phone="13700137000"),
        pool=make_customer(None, name="孙七", phone="13600136000", wechat="sunqi88"),
    )
    people.contact = add_contact(people.customers.rep, "陈经理", "13512340000")
    people.ride_along = _visit_with_companion(app, people.customers.rep, people.rep,
                                              people.manager)
    people.recording = _recording_of(app, people.ride_along, people.rep)
    people.scratch = _INSTANCE
    people.review = _review_maker(app, people)

    def version_of(customer_id: int) -> int:
        from crm.customers.models import Customer

        with app.app_context():
            return db.session.get(Customer, customer_id).version

    people.version_of = version_of
    people.deal = make_deal(people.customers.rep, title="年度设备采购", grade="B")
    people.deal3 = make_deal(people.customers.rep3, title="门店收银系统", grade="A")

    def deal_version() -> int:
        from crm.pipeline.models import Deal

        with app.app_context():
            return db.session.get(Deal, people.deal).version

    people.deal_version = deal_version
    return people


@pytest.fixture
def login_as(app, world):
    """A client signed in as one of the world's people, by attribute name."""

    def login(who: str) -> CRMClient:
        client = app.test_client()
        response = client.login(getattr(world, who).email)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return client

    return login


# Query counting --------------------------------------------------------------------------

@contextmanager
def count_queries(app):
    """Count the SQL statements the block sends; use it to assert a page does not grow."""
    counter = SimpleNamespace(count=0, statements=[])
    with app.app_context():
        engine = db.engine

    def before(_conn, _cursor, statement, *_args):
        counter.count += 1
        counter.statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)
