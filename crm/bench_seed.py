"""Data at the scale the design is built for (100,000 customers, 1,000,000 follow-ups, 500
people in 50 teams), written fast: `COPY` on PostgreSQL, large `executemany` batches through
the driver on SQLite. Used by `flask --app app bench-seed` and by the benchmarks in bench/.

Rows are generated with explicit ids (nothing is read back) from a seeded random generator,
so two runs with the same options make the same data. The search columns come from the same
functions the app uses (`crm.customers.search`), cached per distinct name.
"""

import functools
import json
import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from crm.extensions import db

BENCH_DOMAIN = "bench.local"
REGIONS = ["华北", "华东", "华南", "西南", "华中"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国红梅"
ORG_WORDS = ["科技", "贸易", "餐饮", "物流", "医疗器械", "教育咨询", "建材", "电子", "食品",
             "服装", "汽配", "软件", "家居", "印务", "酒店管理"]
ORG_SUFFIX = ["有限公司", "股份有限公司", "商行", "集团", "工作室"]
CITIES = ["上海", "杭州", "苏州", "南京", "深圳", "广州", "成都", "武汉", "北京", "天津"]
INDUSTRIES = ["制造业", "零售", "教育", "医疗", "物流", "软件", "房地产", "餐饮"]
SUMMARIES = ["上门拜访，介绍了产品方案，客户对价格比较关注", "电话沟通需求，约了下周面谈",
             "演示了系统，采购负责人很感兴趣", "发送了报价单，等待客户内部审批",
             "客户反馈竞品报价更低，需要申请折扣", "回访使用情况，客户满意",
             "客户在外地出差，约定回来后再联系", "确认了合同条款，法务在审"]
NEXT_STEPS = ["发送正式报价", "约决策人面谈", "安排产品演示", "跟进审批进度", "准备合同"]
TAG_NAMES = ["重点跟进", "价格敏感", "决策人", "老客户", "需要演示", "连锁", "政府项目", "转介绍"]
DEAL_TITLES = ["年度设备采购", "门店收银系统", "员工体检团购", "仓储管理软件", "售后维保合同",
               "新店装修配套", "培训服务包", "备件年度供货"]
OPEN = ("inquiry", "first_meeting", "intent", "negotiation")
# China's mobile number blocks: real numbers spread their first digits over these, so a few
# typed digits are as selective in the search indexes as they are in a real customer base.
MOBILE_PREFIXES = ("130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "147",
                   "150", "151", "152", "153", "155", "156", "157", "158", "159", "166", "173",
                   "175", "176", "177", "178", "180", "181", "182", "183", "184", "185", "186",
                   "187", "188", "189", "191", "198", "199")
FOLLOW_UP_KINDS = ("visit", "call", "call", "call", "message", "meeting", "note")


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


class Writer:
    """Appends rows to a table in big batches: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, connection):
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.counts: dict[str, int] = {}

    def write(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
        raw = self.connection.connection.driver_connection
        written = 0
        if self.postgres:
            with raw.cursor() as cursor, cursor.copy(
                    f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    written += 1
        else:
            sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
                   f"VALUES ({', '.join('?' * len(columns))})")
            cursor = raw.cursor()
            batch = []
            for row in rows:
                batch.append(tuple(_sqlite_value(v) for v in row))
                if len(batch) == 20_000:
                    cursor.executemany(sql, batch)
                    written += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                written += len(batch)
        self.counts[table] = self.counts.get(table, 0) + written


def _sqlite_value(value):
    # The text SQLAlchemy's SQLite types store, so the ORM reads these rows back unchanged.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _next_id(table) -> int:
    return (db.session.scalar(select(func.max(table.c.id))) or 0) + 1


def seed_at_scale(customers: int = 100_000, follow_ups: int = 1_000_000, teams: int = 50,
                  people_per_team: int = 10, seed: int = 16,
                  say: Callable[[str], None] = print) -> dict[str, int]:
    """Add a company at scale beside whatever is there (the demo, usually); returns how many
    rows went into each table. The caller commits (it runs in the session's transaction)."""
    from crm.accounts.models import Role, Team, User
    from crm.customers.models import Contact, Customer, OwnershipEvent, Tag
    from crm.customers.search import _joined, _name_forms, _phone_forms
    from crm.followups.models import FollowUp
    from crm.pipeline.models import Deal, DealEvent
    from crm.recordings.models import Recording, RecordingStatus

    rng = random.Random(seed)
    started = time.perf_counter()
    connection = db.session.connection()
    writer = Writer(connection)
    now = datetime.now(UTC).replace(microsecond=0)
    naive_now = _naive(now)
    today = naive_now.date()

    def step(label: str) -> None:
        say(f"{time.perf_counter() - started:6.1f} s  {label}")

    # --- teams and people ------------------------------------------------------------------
    password_hash = db.session.scalar(select(User.password_hash).order_by(User.id).limit(1))
    if password_hash is None:
        from werkzeug.security import generate_password_hash

        from crm.demo import DEMO_PASSWORD
        password_hash = generate_password_hash(DEMO_PASSWORD)
    team_id = _next_id(Team.__table__)
    regions = max(1, teams // 10)
    team_rows, leaf_ids = [], []
    for region in range(regions):
        region_id = team_id
        team_id += 1
        team_rows.append((region_id, f"{REGIONS[region % len(REGIONS)]}大区{region_id}", None,
                          f"/{region_id}/", naive_now))
        for n in range(teams // regions - 1):
            team_rows.append((team_id, f"{CITIES[n % len(CITIES)]}{n + 1}组", region_id,
                              f"/{region_id}/{team_id}/", naive_now))
            leaf_ids.append(team_id)
            team_id += 1
    writer.write("teams", ("id", "name", "parent_id", "path", "created_at"), team_rows)

    user_id = _next_id(User.__table__)
    user_rows = []
    new_reps = []
    for team in leaf_ids:
        for n in range(people_per_team):
            role = Role.MANAGER if n == 0 else Role.REP
            email = f"bench.{'m' if n == 0 else 'r'}{user_id}@{BENCH_DOMAIN}"
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            user_rows.append((user_id, email, name, password_hash, role.value, team, True,
                              "Asia/Shanghai", 0, False, naive_now, naive_now, 1))
            if role == Role.REP:
                new_reps.append(user_id)
            user_id += 1
    writer.write("users", ("id", "email", "name", "password_hash", "role", "team_id", "active",
                           "timezone", "failed_logins", "must_change_password",
                           "password_changed_at", "created_at", "version"), user_rows)
    # Every rep, the demo's too, carries a share of the customers and the deals.
    reps = list(db.session.scalars(select(User.id).where(User.role == Role.REP,
                                                         User.active.is_(True))))
    reps = sorted(set(reps) | set(new_reps))
    step(f"{len(team_rows)} teams, {len(user_rows)} people")

    # --- tags ------------------------------------------------------------------------------
    existing_tags = dict(db.session.execute(select(Tag.name, Tag.id)).all())
    tag_id = _next_id(Tag.__table__)
    new_tags = []
    for name in TAG_NAMES:
        if name not in existing_tags:
            existing_tags[name] = tag_id
            new_tags.append((tag_id, name))
            tag_id += 1
    writer.write("tags", ("id", "name"), new_tags)
    tag_ids = [existing_tags[name] for name in TAG_NAMES]

    # --- customers and contacts ------------------------------------------------------------
    forms = functools.lru_cache(maxsize=None)(_name_forms)
    first_customer = _next_id(Customer.__table__)
    first_contact = _next_id(Contact.__table__)
    # A quarter in the public pool; the rest spread over every rep.
    owners = [None if rng.random() < 0.25 else rng.choice(reps) for _ in range(customers)]
    customer_rows, contact_rows, tag_rows, event_rows = [], [], [], []
    contact_id = first_contact
    event_id = _next_id(OwnershipEvent.__table__)
    last_contact: list[datetime | None] = [None] * customers
    used_phones: set[str] = set()

    def mobile_number() -> str:
        while True:
            number = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"
            if number not in used_phones:
                used_phones.add(number)
                return number
    for n in range(customers):
        cid = first_customer + n
        person = rng.random() < 0.4
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        organisation = None if person else (rng.choice(CITIES) + rng.choice(SURNAMES) + "氏"
                                            + rng.choice(ORG_WORDS) + rng.choice(ORG_SUFFIX))
        phone = mobile_number()
        phone_normalized = "+86" + phone
        created = naive_now - timedelta(days=rng.randrange(730), seconds=rng.randrange(86400))
        owner = owners[n]
        name_forms = forms(name) + forms(organisation)
        contact_forms = _phone_forms(phone_normalized)
        for k in range(rng.choice((1, 1, 2, 2, 3))):
            contact_name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            contact_phone = mobile_number()
            name_forms += forms(contact_name)
            contact_forms += _phone_forms("+86" + contact_phone)
            contact_rows.append((contact_id, cid, contact_name,
                                 "采购负责人" if k == 0 else "经理", contact_phone,
                                 "+86" + contact_phone, k == 0))
            contact_id += 1
        tags = rng.sample(tag_ids, rng.choice((0, 0, 1, 2)))
        tag_rows.extend((cid, t) for t in tags)
        name_forms += [name for name, tid in existing_tags.items() if tid in tags]
        wechat = f"wx{phone[-8:]}"
        contact_forms.append(wechat)
        claimed = created if owner else None
        protected = (created + timedelta(days=30)) if owner and rng.random() < 0.8 else None
        customer_rows.append([
            cid, "person" if person else "organisation", name, organisation, phone,
            phone_normalized, wechat, rng.choice(CITIES), rng.choice(INDUSTRIES),
            rng.choice(("micro", "small", "medium", "large")),
            rng.choice(("general", "general", "suitable", "key")), rng.random() < 0.7, owner,
            claimed, protected, None, _joined(name_forms), _joined(contact_forms), created,
            owner, created, 1])
        event_rows.append((event_id, cid, "create", None, owner, owner, created))
        event_id += 1
    step(f"{customers} customers generated")

    # --- follow-ups: ~follow_ups over two years, each customer's latest carries the plan ---
    follow_up_rows = []
    fid = _next_id(FollowUp.__table__)
    weights = [rng.uniform(0.2, 1.8) for _ in range(customers)]
    scale = follow_ups / (sum(weights) or 1)
    counts = [int(w * scale) for w in weights]
    for n in rng.sample(range(customers), min(customers, follow_ups - sum(counts))):
        counts[n] += 1
    recording_candidates = []
    for n in range(customers):
        count = counts[n]
        if count == 0:
            continue
        cid = first_customer + n
        owner = owners[n]
        author = owner or rng.choice(reps)
        moments = sorted(rng.sample(range(730 * 86400), count))  # no two at one moment
        for k, seconds_ago in enumerate(reversed(moments)):
            occurred = naive_now - timedelta(seconds=seconds_ago)
            latest = k == count - 1
            kind = rng.choice(FOLLOW_UP_KINDS)
            # Most follow-ups planned a next step; only the latest still stands.
            if latest:
                next_date = today + timedelta(days=rng.randrange(-10, 21))
            elif rng.random() < 0.6:
                next_date = occurred.date() + timedelta(days=rng.randrange(1, 15))
            else:
                next_date = None
            follow_up_rows.append((
                fid, cid, author, kind, occurred, rng.choice(SUMMARIES),
                rng.choice(NEXT_STEPS) if next_date else None, next_date, occurred, 1,
                not latest))
            if kind in ("visit", "call") and seconds_ago < 120 * 86400 and owner \
                    and rng.random() < 0.1:
                recording_candidates.append((fid, author, occurred))
            fid += 1
        last_contact[n] = naive_now - timedelta(seconds=moments[0])
    for n, row in enumerate(customer_rows):
        row[15] = last_contact[n]
    step(f"{len(follow_up_rows)} follow-ups generated")

    paused = _pause_sqlite_triggers(connection)
    writer.write("customers", (
        "id", "kind", "name", "organisation", "phone", "phone_normalized", "wechat", "region",
        "industry", "size_band", "tier", "recording_consent", "owner_id", "claimed_at",
        "protected_until", "last_contact_at", "search_text", "search_contact", "created_at",
        "created_by_id", "updated_at", "version"), (tuple(r) for r in customer_rows))
    writer.write("contacts", ("id", "customer_id", "name", "title", "phone", "phone_normalized",
                              "is_primary"), contact_rows)
    writer.write("customer_tags", ("customer_id", "tag_id"), tag_rows)
    writer.write("ownership_events", ("id", "customer_id", "kind", "from_user_id", "to_user_id",
                                      "by_user_id", "at"), event_rows)
    step("customers, contacts, tags and ownership written")
    del customer_rows, contact_rows, tag_rows, event_rows
    # Each customer's follow-ups in time order, the latest not superseded (the database's
    # triggers agree: they see each row arrive after the ones before it).
    # The row trigger that keeps the flag is paused for the load: the rows already say it.
    if writer.postgres:
        connection.exec_driver_sql("ALTER TABLE follow_ups DISABLE TRIGGER follow_ups_plan")
    writer.write("follow_ups", ("id", "customer_id", "author_id", "kind", "occurred_at",
                                "summary", "next_step", "next_date", "created_at", "version",
                                "superseded"),
                 follow_up_rows)
    if writer.postgres:
        connection.exec_driver_sql("ALTER TABLE follow_ups ENABLE TRIGGER follow_ups_plan")
    _resume_sqlite_triggers(connection, paused)
    step("follow-ups written")
    del follow_up_rows

    # --- recordings: rows for some recent visits and calls, sharing one processed audio ----
    source = db.session.execute(
        select(Recording.original_sha256, Recording.original_size, Recording.original_type,
               Recording.playable_sha256, Recording.playable_size, Recording.duration_seconds,
               Recording.peaks)
        .where(Recording.status == RecordingStatus.READY).order_by(Recording.id).limit(1)).first()
    if source is None:  # no demo audio: rows of a 20 s recording whose file is not on disk
        peaks = [rng.randrange(5, 100) for _ in range(480)]
        source = ("0" * 64, 320_000, "audio/mp4", "0" * 64, 320_000, 20.0, peaks)
    peaks_json = json.dumps(source[6])
    rid = _next_id(Recording.__table__)
    writer.write("recordings", (
        "id", "follow_up_id", "uploaded_by_id", "created_at", "original_sha256", "original_size",
        "original_type", "playable_sha256", "playable_size", "status", "duration_seconds",
        "peaks", "consent_confirmed_by_id", "consent_confirmed_at"),
        ((rid + k, f, author, at, source[0], source[1], source[2], source[3], source[4],
          RecordingStatus.READY.value, source[5], peaks_json, author, at)
         for k, (f, author, at) in enumerate(recording_candidates)))
    step(f"{len(recording_candidates)} recordings written")

    # --- deals: each rep 20–80 open, and a history of won and lost -------------------------
    by_owner: dict[int, list[int]] = {}
    for n, owner in enumerate(owners):
        if owner is not None:
            by_owner.setdefault(owner, []).append(first_customer + n)
    did = _next_id(Deal.__table__)
    eid = _next_id(DealEvent.__table__)
    deal_rows, deal_events = [], []
    for owner, owned in by_owner.items():
        plans = [rng.choice(OPEN) for _ in range(rng.randint(20, 80))]
        plans += [rng.choice(("won", "won", "after_sales", "lost", "lost"))
                  for _ in range(rng.randint(10, 60))]
        for stage in plans:
            grade = rng.choice("AABBBCCCC")
            created = naive_now - timedelta(days=rng.randrange(1, 400), hours=rng.randrange(24))
            closed = None if stage in OPEN else min(
                naive_now, created + timedelta(days=rng.randrange(3, 90)))
            graded = created + timedelta(days=rng.randrange(0, 10)) if stage in OPEN else created
            graded = min(graded, naive_now - timedelta(hours=rng.randrange(1, 72)))
            window = {"A": 7, "B": 14, "C": 30}[grade]
            deal_rows.append((
                did, rng.choice(owned), owner, rng.choice(DEAL_TITLES),
                rng.randrange(20, 600) * 1000, graded.date() + timedelta(days=window),
                stage, grade, "选了竞品" if stage == "lost" else None, created, owner,
                graded, graded, closed, 1))
            customer = deal_rows[-1][1]
            deal_events.append((eid, did, customer, owner, owner, "create", None, "inquiry", 0,
                                created))
            eid += 1
            if stage != "inquiry":
                deal_events.append((eid, did, customer, owner, owner, "stage", "inquiry", stage,
                                    0 if stage == "lost" else 1,
                                    closed or graded))
                eid += 1
            did += 1
    writer.write("deals", ("id", "customer_id", "owner_id", "title", "amount", "expected_close",
                           "stage", "grade", "lost_reason", "created_at", "created_by_id",
                           "updated_at", "graded_at", "closed_at", "version"), deal_rows)
    writer.write("deal_events", ("id", "deal_id", "customer_id", "owner_id", "by_user_id",
                                 "kind", "from_value", "to_value", "direction", "at"),
                 deal_events)
    step(f"{len(deal_rows)} deals written")

    if writer.postgres:  # explicit ids: move each sequence past them
        for table in ("teams", "users", "tags", "customers", "contacts", "ownership_events",
                      "follow_ups", "recordings", "deals", "deal_events"):
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))")
    return writer.counts


def _pause_sqlite_triggers(connection) -> list[str]:
    """SQLite: drop the triggers of customers and follow-ups (search index, plans) for the
    load, returning their SQL; per-row triggers would make the load three times slower."""
    if connection.dialect.name != "sqlite":
        return []
    triggers = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
        "AND tbl_name IN ('customers', 'follow_ups')").all()
    for name, _sql in triggers:
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    return [sql for _name, sql in triggers]


def _resume_sqlite_triggers(connection, paused: list[str]) -> None:
    """Put the triggers back and rebuild the search index from the customers table."""
    for sql in paused:
        connection.exec_driver_sql(sql)
    from crm.customers.search import FTS_TABLE

    if connection.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = ?",
                                  (FTS_TABLE,)).first() if paused else None:
        connection.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def analyze() -> None:
    """Fresh planner statistics after a bulk load, and on PostgreSQL the visibility map that
    index-only scans need (autovacuum would get there in time; a benchmark should not wait)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()


def bench_seeded() -> bool:
    from crm.accounts.models import User

    return db.session.scalar(select(func.count()).select_from(User)
                             .where(User.email.like(f"%@{BENCH_DOMAIN}"))) > 0

