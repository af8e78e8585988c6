"""Fixtures: an app on a fresh database (SQLite by default, PostgreSQL when DATABASE_URL is
set), the real Redis (embedded unless REDIS_URL is set), factories, and clients per role.

The suite wipes the database and the Redis database it is pointed at.

Isolation. Each test runs inside a database transaction that is rolled back at its end:
every session the app opens joins the test's connection through a SAVEPOINT, so the app's
`db.session.commit()` releases a savepoint and nothing reaches the disk. That is much
cheaper than emptying every table, on SQLite and PostgreSQL alike, and it lets consecutive
tests share one `world`, built once in the enclosing transaction (see `_Base`). A test whose
data must really be committed — because another process, thread or connection reads it
(the browser tests' live server, cron processes, migrations, racing threads) — is marked
`@pytest.mark.committed` (asking for `live_server` counts too): it runs on real commits, and
the tables are reset before the next test. Redis is flushed before every test.

One app is built per distinct `app_config` and reused; its config is restored after each
test. The locale is pinned to zh_CN (a developer's DEFAULT_LOCALE does not leak in); tests
about language say which one they want.
"""

import os
import re
import signal
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask.ctx import RequestContext
from flask.globals import app_ctx
from flask.testing import EnvironBuilder, FlaskClient
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event, text
from sqlalchemy.orm import scoped_session, sessionmaker

# Every path the app writes goes to a throwaway instance folder.
_INSTANCE = Path(tempfile.mkdtemp(prefix="crm-test-"))
os.environ["CRM_INSTANCE_DIR"] = str(_INSTANCE)

from crm import create_app  # noqa: E402
from crm.accounts.models import Role, Team, User  # noqa: E402
from crm.accounts.teams import create_team  # noqa: E402
from crm.accounts.users import create_user  # noqa: E402
from crm.extensions import db  # noqa: E402

PASSWORD = "secret-pass-1"
# The suite speaks one language unless a test asks for another (headers or the user's setting).
LOCALE = "zh_CN"
TIMEZONE = "Asia/Shanghai"


class CRMClient(FlaskClient):
    """A test client that sends what a browser sends: a same-origin Referer and CSRF tokens."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_REFERER"] = "https://localhost/"

    def csrf_token(self) -> str:
        """The token a page would carry, made by Flask-WTF itself against this client's
        session (no page load): the raw token lands in the session cookie, as it would."""
        app = self.application
        with self.session_transaction() as session:
            environ = EnvironBuilder(app, environ_base=self.environ_base).get_environ()
            with RequestContext(app, environ, session=session):
                return generate_csrf()

    def post_form(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def login(self, email: str, password: str = PASSWORD, headers=None, **form_extra):
        return self.post_form("/login", {"email": email, "password": password, **form_extra},
                              headers=headers)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "committed: the test's data is really committed (another process, thread or "
                   "connection reads it); the tables are reset afterwards instead of rolled back")
    config.addinivalue_line(
        "markers", "recording: the `world` fixture also builds its transcoded recording "
                   "(world.recording, world.review)")


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
def _redis(redis_url):
    """A connection to the suite's Redis database, whatever Redis a test's app is told to use."""
    from redis import Redis

    connection = Redis.from_url(redis_url, socket_connect_timeout=10, socket_timeout=30)
    yield connection
    connection.close()


@pytest.fixture(scope="session", autouse=True)
def _each_wav_sample_synthesised_once():
    """Voice-like samples are synthesised sample by sample in Python: the demo's four take
    seconds, and four tests seed the demo. A WAV sample is a pure function of its length and
    seed, so each one is synthesised (for real) once per run and its bytes written again
    after that. Other formats carry random stream ids and are always made afresh."""
    from crm.recordings import samples

    synthesise = samples.write_sample
    made: dict = {}

    def write_sample(path, kind="wav", seconds=5.0, seed=1):
        if kind != "wav":
            return synthesise(path, kind, seconds, seed)
        if (seconds, seed) in made:
            Path(path).write_bytes(made[(seconds, seed)])
            return path
        made[(seconds, seed)] = Path(synthesise(path, kind, seconds, seed)).read_bytes()
        return path

    samples.write_sample = write_sample
    yield
    samples.write_sample = synthesise


@pytest.fixture(scope="session")
def database_url():
    return os.environ.get("DATABASE_URL") or f"sqlite:///{_INSTANCE / 'test.sqlite3'}"


def _overrides(database_url, redis_url, **extra):
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
            "BABEL_DEFAULT_LOCALE": LOCALE, "DEFAULT_TIMEZONE": TIMEZONE, **extra}


# The database between tests: as the migrations left it (rows a migration stores, such as
# the built-in rubric, included). `dirty` is True when a test may have committed more, so
# the next test starts by resetting the tables.
_TABLES = SimpleNamespace(dirty=True, seeded={})


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
        with db.engine.connect() as connection:
            for table in db.metadata.sorted_tables:
                rows = connection.execute(table.select()).mappings().all()
                if rows:
                    _TABLES.seeded[table.name] = [dict(row) for row in rows]
        db.engine.dispose()
    _TABLES.dirty = True
    yield True
    _BASE.stop()
    for cached in _APPS.values():
        with cached.app_context():
            db.engine.dispose()


def _empty_tables(app) -> None:
    """Back to the state the migrations left: every table emptied, their rows put back."""
    with app.app_context():
        tables = db.metadata.sorted_tables
        postgresql = db.engine.dialect.name == "postgresql"
        with db.engine.begin() as connection:
            if postgresql:
                names = ", ".join(t.name for t in tables)
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(tables):
                    connection.execute(table.delete())
            for table in tables:
                rows = _TABLES.seeded.get(table.name)
                if not rows:
                    continue
                connection.execute(table.insert(), rows)
                if postgresql:  # the sequences go on from the stored rows, as after upgrade
                    for column in table.primary_key.columns:
                        if column.autoincrement is True or (
                                column.autoincrement == "auto"
                                and len(table.primary_key.columns) == 1
                                and column.type.python_type is int):
                            connection.execute(text(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', "
                                f"'{column.name}'), (SELECT max({column.name}) FROM "
                                f"{table.name}))"))


# One app per distinct configuration ------------------------------------------------------

_APPS: dict = {}
_PRISTINE_CONFIG: dict = {}


def _app_for(database_url, redis_url, app_config: dict):
    key = tuple(sorted((name, repr(value)) for name, value in app_config.items()))
    app = _APPS.get(key)
    if app is None:
        app = create_app(_overrides(database_url, redis_url, **app_config))
        app.test_client_class = CRMClient
        _APPS[key] = app
        _PRISTINE_CONFIG[key] = dict(app.config)
    return app, key


# Rollback isolation ----------------------------------------------------------------------
#
# Rolled-back tests share one connection with one open transaction, the "base". Its state is
# either the migrated database ("empty") or that plus the `world` (with or without its
# recording). Each test runs in a SAVEPOINT of the base and is rolled back to it, so the
# world is built once for a run of tests that use it rather than once per test. The base is
# rebuilt when the next test needs another state, another app, or when it is older than
# BASE_MAX_AGE seconds or a day has turned (tests compare the world's times with "now").

BASE_MAX_AGE = 30.0

# Names of the savepoints through which sessions join a test's transaction: SQL the app
# would not have sent on its own, so count_queries leaves them out.
_JOIN_SAVEPOINTS: set[str] = set()


class _JoinedSession(FlaskSQLAlchemySession):
    """db.session during a rolled-back test: every app context's session works on the base
    connection, inside a savepoint of the test's transaction."""

    opened: list = []

    def __init__(self, db, **kwargs):
        super().__init__(db, **kwargs)
        _JoinedSession.opened.append(self)

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return bind if bind is not None else self.bind


@event.listens_for(_JoinedSession, "after_begin")
def _remember_join_savepoint(session, transaction, connection):
    if transaction.parent is None:  # the session's own transaction, not a begin_nested()
        savepoint = connection.get_nested_transaction()
        _JOIN_SAVEPOINTS.add(savepoint._savepoint)  # SQLAlchemy's name for it: sa_savepoint_N


def _sqlite_begin(connection):
    connection.exec_driver_sql("BEGIN")


def _days() -> tuple:
    """Today in UTC and in the users' default zone: the world is rebuilt when either turns."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC)
    return now.date(), now.astimezone(ZoneInfo(TIMEZONE)).date()


class _Base:
    """The shared connection and transaction of rolled-back tests (one at a time)."""

    def __init__(self):
        self.connection = None

    @property
    def open(self) -> bool:
        return self.connection is not None

    def fits(self, app_key, state) -> bool:
        return (self.open and self.app_key == app_key and self.state == state
                and time.monotonic() - self.started < BASE_MAX_AGE and _days() == self.days)

    def start(self, app, app_key, state, redis) -> None:
        """Open the connection and transaction; build the world in it if the state says so.

        pysqlite (Python < 3.12) starts transactions lazily and would let the first
        SAVEPOINT become the outermost transaction, which RELEASE then commits; so on SQLite
        the driver's own transaction handling is switched off and BEGIN is sent here
        (SQLAlchemy's documented recipe for SAVEPOINT on pysqlite)."""
        with app.app_context():
            engine = db.engine
        self.app, self.app_key, self.state = app, app_key, state
        self.started, self.days = time.monotonic(), _days()
        self.world, self.redis_keys, self.counters = None, [], {}
        self.connection = engine.connect()
        self.sqlite_connection = None
        if engine.dialect.name == "sqlite":
            self.sqlite_connection = self.connection.connection.driver_connection
            self.sqlite_connection.isolation_level = None
            event.listen(self.connection, "begin", _sqlite_begin)
        self.transaction = self.connection.begin()
        factory = sessionmaker(class_=_JoinedSession, db=db, bind=self.connection,
                               join_transaction_mode="create_savepoint", query_cls=db.Query)
        self.session = scoped_session(factory, scopefunc=lambda: id(app_ctx._get_current_object()))
        if state == "empty":
            return
        try:
            with self.joined():
                factories = _Factories(app)
                self.world = _build_world(app, factories, with_recording=state == "recording")
                self.counters = factories.counters()
        except BaseException:
            self.stop()
            raise
        # What building the world left in Redis (the recording's processing job).
        self.redis_keys = [(key, redis.pttl(key), redis.dump(key)) for key in redis.keys()]

    @contextmanager
    def joined(self):
        """db.session joins the base transaction for the block."""
        application_session = db.session
        db.session = self.session
        try:
            yield
        finally:
            db.session = application_session
            for session in _JoinedSession.opened:
                session.close()
            _JoinedSession.opened.clear()

    def restore_redis(self, redis) -> None:
        for key, pttl, value in self.redis_keys:
            redis.restore(key, max(pttl, 0), value, replace=True)

    def stop(self) -> None:
        """Roll the base transaction back and close its connection."""
        if not self.open:
            return
        connection, self.connection = self.connection, None
        try:
            self.transaction.rollback()
        finally:
            if self.sqlite_connection is not None:
                event.remove(connection, "begin", _sqlite_begin)
            connection.close()
            if self.sqlite_connection is not None:
                self.sqlite_connection.isolation_level = ""  # pysqlite's default again


_BASE = _Base()


@contextmanager
def _rolled_back():
    """One test in a savepoint of the base transaction, rolled back at its end."""
    savepoint = _BASE.connection.begin_nested()
    try:
        with _BASE.joined():
            yield
    finally:
        _JOIN_SAVEPOINTS.clear()
        savepoint.rollback()


@pytest.fixture
def app_config():
    """Per-test configuration overrides; a test module may override this fixture."""
    return {}


def _needs_commits(request) -> bool:
    return (request.node.get_closest_marker("committed") is not None
            or "live_server" in request.fixturenames)


def _wants_recording(request) -> bool:
    return request.node.get_closest_marker("recording") is not None


def _base_state(request) -> str:
    if "world" not in request.fixturenames:
        return "empty"
    return "recording" if _wants_recording(request) else "world"


# What the factories of the running test count from (after the world's own people).
_COUNTERS: dict = {}


@pytest.fixture
def app(request, _schema, database_url, redis_url, _redis, app_config):
    app, key = _app_for(database_url, redis_url, app_config)
    committed = _needs_commits(request)
    state = _base_state(request)
    if committed or _TABLES.dirty or not _BASE.fits(key, state):
        _BASE.stop()
    if _TABLES.dirty:
        _empty_tables(app)
        _TABLES.dirty = False
    _redis.flushdb()
    _COUNTERS.clear()
    try:
        if committed:
            _TABLES.dirty = True
            yield app
        else:
            _TABLES.dirty = True  # until the rollback has happened
            if not _BASE.open:
                _BASE.start(app, key, state, _redis)
                _redis.flushdb()
            _BASE.restore_redis(_redis)
            _COUNTERS.update(_BASE.counters)
            with _rolled_back():
                yield app
            _TABLES.dirty = False
    finally:
        app.config.clear()
        app.config.update(_PRISTINE_CONFIG[key])
        if _TABLES.dirty:
            # Committed data, or a rollback that failed: start the next test afresh, with
            # new connections (a migration test may have rebuilt the tables under them).
            try:
                _BASE.stop()
            finally:
                for cached in _APPS.values():
                    with cached.app_context():
                        db.engine.dispose()


@pytest.fixture
def client(app) -> CRMClient:
    return app.test_client()


# Factories -------------------------------------------------------------------------------

_HASH_CACHE: dict[str, str] = {}


def _password_hash(password: str) -> str:
    """The stored hash of the factories' users. Signing in checks it for real, but with a
    cheap work factor: the app's default (scrypt) costs about 0.2 s per sign-in, and the suite
    signs in hundreds of times. Passwords the app itself sets keep the app's own hash."""
    from werkzeug.security import generate_password_hash

    if password not in _HASH_CACHE:
        _HASH_CACHE[password] = generate_password_hash(password, method="pbkdf2:sha256:1000")
    return _HASH_CACHE[password]


def snapshot(user: User) -> SimpleNamespace:
    return SimpleNamespace(id=user.id, email=user.email, name=user.name, role=user.role,
                           team_id=user.team_id)


class _Factories:
    """make_team, make_user, make_customer, add_contact and make_deal for one app. Users and
    customers are numbered (rep7@example.test, 客户0007) from where the world left off."""

    def __init__(self, app, counters: dict | None = None):
        self.app = app
        self.next = {"user": 1, "customer": 1, **(counters or {})}

    def counters(self) -> dict:
        return dict(self.next)

    def _number(self, kind: str) -> int:
        n = self.next[kind]
        self.next[kind] = n + 1
        return n

    def make_team(self, name: str, parent_id: int | None = None) -> int:
        with self.app.app_context():
            parent = db.session.get(Team, parent_id) if parent_id else None
            team = create_team(name, parent)
            db.session.commit()
            return team.id

    def make_user(self, role: Role = Role.REP, team_id: int | None = None,
                  email: str | None = None, name: str | None = None, password: str = PASSWORD,
                  **fields) -> SimpleNamespace:
        n = self._number("user")
        with self.app.app_context():
            team = db.session.get(Team, team_id) if team_id else None
            user = create_user(email=email or f"{role.value}{n}@example.test",
                               name=name or f"{role.value.title()} {n}", role=role, team=team,
                               password_hash=_password_hash(password), **fields)
            db.session.commit()
            return snapshot(user)

    def make_customer(self, owner=None, name: str | None = None,
                      tags: list[str] | None = None, **values) -> int:
        """A customer owned by `owner` (a snapshot or id) or in the pool; returns its id."""
        from crm.customers.editing import create_customer

        n = self._number("customer")
        with self.app.app_context():
            owner_user = db.session.get(User, getattr(owner, "id", owner)) if owner else None
            customer = create_customer({"name": name or f"客户{n:04d}", **values}, None,
                                       owner=owner_user, tags=tags)
            db.session.commit()
            return customer.id

    def add_contact(self, customer_id: int, name: str, phone: str | None = None) -> int:
        from crm.customers.editing import save_contact
        from crm.customers.models import Customer

        with self.app.app_context():
            customer = db.session.get(Customer, customer_id)
            contact = save_contact(customer, {"name": name, "phone": phone}, None)
            db.session.commit()
            return contact.id

    def make_deal(self, customer_id: int, title: str = "设备采购", grade: str = "C",
                  stage: str = "inquiry", amount=None, by=None) -> int:
        """An open deal on a customer, owned by the customer's owner; returns its id."""
        from crm.customers.models import Customer
        from crm.pipeline.deals import create_deal
        from crm.pipeline.models import Grade, Stage

        with self.app.app_context():
            by_user = db.session.get(User, getattr(by, "id", by)) if by else None
            deal = create_deal(db.session.get(Customer, customer_id), by_user, title=title,
                               grade=Grade(grade), stage=Stage(stage), amount=amount)
            db.session.commit()
            return deal.id


@pytest.fixture
def _factories(app) -> _Factories:
    return _Factories(app, _COUNTERS)


@pytest.fixture
def make_team(_factories):
    return _factories.make_team


@pytest.fixture
def make_user(_factories):
    return _factories.make_user


@pytest.fixture
def make_customer(_factories):
    """A customer owned by `owner` (a snapshot or id) or in the pool; returns its id."""
    return _factories.make_customer


@pytest.fixture
def add_contact(_factories):
    return _factories.add_contact


@pytest.fixture
def make_deal(_factories):
    """An open deal on a customer, owned by the customer's owner; returns its id."""
    return _factories.make_deal


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
    from crm.recordings.jobs import process_recording
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
    from crm.recordings.jobs import process_recording
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


class World(SimpleNamespace):
    """The world's people and things; `recording` exists only for tests marked `recording`."""

    _recording: int | None = None

    @property
    def recording(self) -> int:
        if self._recording is None:
            raise AttributeError(
                "world.recording is built only for tests that ask for it: mark the test "
                "(or its module) with @pytest.mark.recording")
        return self._recording


def _build_world(app, make: _Factories, with_recording: bool) -> dict:
    """The world's rows, made through the factories; returns what the tests refer to."""
    east = make.make_team("East")
    sh1 = make.make_team("Shanghai 1", east)
    hz = make.make_team("Hangzhou", east)
    south = make.make_team("South")
    sz = make.make_team("Shenzhen", south)
    empty = make.make_team("Empty")
    user = make.make_user
    people = dict(
        teams=SimpleNamespace(east=east, sh1=sh1, hz=hz, south=south, sz=sz, empty=empty),
        admin=user(Role.ADMIN, email="admin@example.test", name="Admin"),
        office=user(Role.OFFICE, email="office@example.test", name="Office"),
        region_manager=user(Role.MANAGER, east, email="region@example.test"),
        manager=user(Role.MANAGER, sh1, email="manager@example.test", name="Manager"),
        rep=user(Role.REP, sh1, email="rep@example.test", name="Rep"),
        rep2=user(Role.REP, sh1, email="rep2@example.test", name="Rep Two"),
        hz_rep=user(Role.REP, hz, email="hzrep@example.test"),
        manager2=user(Role.MANAGER, sz, email="manager2@example.test"),
        rep3=user(Role.REP, sz, email="rep3@example.test", name="Rep Three"),
    )
    customer = make.make_customer
    customers = people["customers"] = SimpleNamespace(
        rep=customer(people["rep"], name="张三", organisation="华东机械",
                     phone="13800138000", tags=["制造业"]),
        rep2=customer(people["rep2"], name="李四", phone="13900139000"),
        hz=customer(people["hz_rep"], name="王五"),
        rep3=customer(people["rep3"], name="赵六", phone="13700137000"),
        pool=customer(None, name="孙七", phone="13600136000", wechat="sunqi88"),
    )
    people["contact"] = make.add_contact(customers.rep, "陈经理", "13512340000")
    people["ride_along"] = _visit_with_companion(app, customers.rep, people["rep"],
                                                 people["manager"])
    if with_recording:
        people["_recording"] = _recording_of(app, people["ride_along"], people["rep"])
    people["deal"] = make.make_deal(customers.rep, title="年度设备采购", grade="B")
    people["deal3"] = make.make_deal(customers.rep3, title="门店收银系统", grade="A")
    people.update(_goals_and_report(app, people))
    return people


def _goals_and_report(app, people) -> dict:
    """sh1's goal of visits this month with the rep's share of it, and a weekly report of
    sh1 already made (made here, not enqueued: the world leaves no job behind)."""
    from crm.clock import utcnow
    from crm.goals.goals import set_goal
    from crm.reports.jobs import generate_report
    from crm.reports.models import ReportKind, ReportRun
    from crm.reports.reports import period_for

    with app.app_context():
        team = db.session.get(Team, people["teams"].sh1)
        manager = db.session.get(User, people["manager"].id)
        today = utcnow().date()
        goal = set_goal(team, None, "visits", "month", today, 10, manager)
        share = set_goal(team, db.session.get(User, people["rep"].id), "visits", "month",
                         today, 5, manager)
        week = period_for(ReportKind.WEEKLY, today)
        run = ReportRun(team_id=team.id, kind=ReportKind.WEEKLY, period_start=week.start,
                        period_end=week.end)
        db.session.add(run)
        db.session.commit()
        ids = {"goal": goal.id, "goal_share": share.id, "report_run": run.id}
    with app.app_context():
        generate_report(ids["report_run"])
    with app.app_context():  # its "ready" notifications would change people's counts
        from crm.notifications.models import Notification

        db.session.execute(Notification.__table__.delete().where(
            Notification.kind == "report_ready"))
        db.session.commit()
    return ids


def _world_of(app, rows: dict) -> World:
    """A test's own World over the world's rows, with its own helpers."""
    import copy

    people = World(**copy.deepcopy(rows))
    people.scratch = _INSTANCE
    people.app = app  # for access-matrix rows that make their own rows (issue 18)
    people.review = _review_maker(app, people)

    def version_of(customer_id: int) -> int:
        from crm.customers.models import Customer

        with app.app_context():
            return db.session.get(Customer, customer_id).version

    def deal_version() -> int:
        from crm.pipeline.models import Deal

        with app.app_context():
            return db.session.get(Deal, people.deal).version

    people.version_of = version_of
    people.deal_version = deal_version
    return people


@pytest.fixture
def world(request, app, _factories):
    """The shape of a real company: two regions, teams below them, every role, an outsider.

    east (region_manager) ─┬─ sh1: manager, rep, rep2      south ── sz: manager2, rep3
                           └─ hz:  hz_rep                    empty (no one)
    customers: one each for rep, rep2, hz_rep and rep3, and one in the pool.
    deals: one on rep's customer (`deal`), one on rep3's (`deal3`).
    The rep's visit with the manager riding along (`ride_along`) carries a transcoded
    recording (`recording`, and reviews of copies of it, `review(...)`) only when the test is
    marked `recording`: transcoding costs more than all the rest.

    A rolled-back test gets the world its base transaction already holds; otherwise (real
    commits) it is built now.
    """
    if (not _needs_commits(request) and _BASE.open and _BASE.world is not None
            and _BASE.state == _base_state(request)):
        rows = _BASE.world
    else:
        rows = _build_world(app, _factories, with_recording=_wants_recording(request))
    return _world_of(app, rows)


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
    """Count the SQL statements the block sends; use it to assert a page does not grow.

    The savepoints through which a rolled-back test's sessions join its transaction are not
    the app's statements and are left out; savepoints the app makes itself are counted."""
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
        counter.statements[:] = [s for s in counter.statements if not _joins_a_test(s)]
        counter.count = len(counter.statements)


_SAVEPOINT_SQL = re.compile(r"\s*(?:SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\s+(\S+)\s*",
                            re.IGNORECASE)


def _joins_a_test(statement: str) -> bool:
    match = _SAVEPOINT_SQL.fullmatch(statement)
    return bool(match) and match.group(1).strip('"') in _JOIN_SAVEPOINTS


# Processes -------------------------------------------------------------------------------

def _proc_stat(pid: int) -> list[str] | None:
    """state, ppid, pgrp, session, ... of a process (None once it is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def session_members(session_id: int) -> list[int]:
    """Live (not zombie) processes of a session: whatever a process started in its own
    session went on to start, even after it died and they were handed to init."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat and stat[3] == str(session_id) and stat[0] != "Z":
                found.append(int(entry.name))
    return found


def wait_until(condition, timeout: float, interval: float = 0.1, message: str = ""):
    """Poll `condition` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(message or f"not true within {timeout:.0f} s: {condition}")
        time.sleep(interval)


def stop_session(session_id: int, grace: float = 30.0) -> list[int]:
    """SIGTERM every process of the session, SIGKILL what is left after `grace` seconds;
    returns the processes that had to be killed."""
    def signal_all(signum) -> list[int]:
        members = session_members(session_id)
        for pid in members:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass
        return members

    if not signal_all(signal.SIGTERM):
        return []
    try:
        wait_until(lambda: not session_members(session_id), grace, 0.2)
        return []
    except AssertionError:
        killed = signal_all(signal.SIGKILL)
        wait_until(lambda: not session_members(session_id), 30, 0.2,
                   f"processes of session {session_id} survive SIGKILL")
        return killed


def _terminated_with_pytest() -> None:
    """In the child before exec: the kernel sends SIGTERM when pytest dies (even by SIGKILL),
    so a killed test run stops what it started; the processes' own handlers clean up."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@pytest.fixture
def spawn():
    """Start a process in a session of its own (Popen's arguments). Whatever the test does,
    at its end every process of each such session is stopped: the process, its children,
    and any orphans they left."""
    import subprocess

    started: list[subprocess.Popen] = []

    def start(argv, **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(argv, start_new_session=True,
                                   preexec_fn=_terminated_with_pytest, **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        try:
            stop_session(process.pid)
        finally:
            try:
                process.wait(30)
            except Exception:  # noqa: BLE001 - a stuck zombie must not hide the test's result
                pass
