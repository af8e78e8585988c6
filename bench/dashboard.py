"""Time the dashboard and a monthly report against the database DATABASE_URL points at.

    DATABASE_URL=postgresql://…/crm_bench .venv/bin/python bench/dashboard.py [--requests 20]

Seed the database first with `flask --app app bench-seed` (100,000 customers, 1,000,000
follow-ups). Without it, `--seed` fills an EMPTY PostgreSQL database itself: the demo
people, then customers, follow-ups, deals and their events in set-based INSERT … SELECT
generate_series (`--customers`, `--follow-ups`).

`--seed` adds 49 teams of ten (about 500 people in all) so that the follow-ups spread as they
would. Prints, for the manager leading the most people: the dashboard's server time (median and 95th
percentile, this month and this quarter) against a signed-in page that renders only the base
layout (/more), the statements each page sends, and the time and statements of making a
monthly report of that manager's team.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("CRM_INSTANCE_DIR", tempfile.mkdtemp(prefix="crm-bench-"))

SEED_SQL = [
    # 49 more teams of a manager and nine reps: about 500 people, as the targets say.
    """INSERT INTO teams (name, path, created_at)
       SELECT 'Bench team ' || n, '', now() FROM generate_series(1, 49) AS n""",
    "UPDATE teams SET path = '/' || id || '/' WHERE name LIKE 'Bench team %'",
    """INSERT INTO users (email, name, password_hash, role, team_id, active, failed_logins,
                          must_change_password, created_at, version)
       SELECT 'bench' || t.id || '-' || k || '@bench.local', 'Bench ' || t.id || '-' || k,
              '!', CASE WHEN k = 0 THEN 'manager' ELSE 'rep' END, t.id, true, 0, false,
              now(), 1
       FROM teams AS t, generate_series(0, 9) AS k WHERE t.name LIKE 'Bench team %'""",
    # Customers spread over the reps (a tenth in the pool), created over the last year.
    """INSERT INTO customers (kind, name, search_text, search_contact, tier, owner_id,
                              recording_consent, birthday_lunar, created_at, updated_at, version)
       SELECT 'person', '客户' || n, 'kehu' || n, '', 'general',
              CASE WHEN n % 10 = 0 THEN NULL ELSE reps.ids[1 + n % array_length(reps.ids, 1)] END,
              false, false, now() - (n % 365) * interval '1 day', now(), 1
       FROM generate_series(1, :customers) AS n,
            (SELECT array_agg(id ORDER BY id) AS ids FROM users WHERE role = 'rep') AS reps""",
    # Follow-ups by each customer's owner, over the last year, a third of them visits.
    """INSERT INTO follow_ups (customer_id, author_id, kind, occurred_at, summary, created_at,
                               version)
       SELECT c.id, c.owner_id,
              (ARRAY['visit', 'call', 'message'])[1 + n % 3],
              now() - ((n * 7919) % (365 * 24 * 60)) * interval '1 minute', '跟进', now(), 1
       FROM generate_series(1::bigint, :follow_ups) AS n
       JOIN LATERAL (SELECT id, owner_id FROM customers
                     WHERE owner_id IS NOT NULL AND id = 1 + (n * 31) % :customers) AS c ON true""",
    """INSERT INTO deals (customer_id, owner_id, title, amount, stage, grade, created_at,
                          updated_at, graded_at, version)
       SELECT id, owner_id, '商机' || id, (id % 50) * 1000,
              (ARRAY['inquiry', 'first_meeting', 'intent', 'negotiation', 'won', 'lost'])
              [1 + id % 6], (ARRAY['A', 'B', 'C'])[1 + id % 3],
              now() - (id % 120) * interval '1 day', now(), now(), 1
       FROM customers WHERE owner_id IS NOT NULL AND id % 5 = 0""",
    """INSERT INTO deal_events (deal_id, customer_id, owner_id, kind, from_value, to_value,
                                direction, at)
       SELECT id, customer_id, owner_id, 'create', NULL, 'inquiry', 0, created_at FROM deals""",
    """INSERT INTO deal_events (deal_id, customer_id, owner_id, kind, from_value, to_value,
                                direction, at)
       SELECT id, customer_id, owner_id, 'stage', 'inquiry', stage, 1,
              created_at + interval '2 days' FROM deals WHERE stage <> 'inquiry'""",
    """INSERT INTO deal_events (deal_id, customer_id, owner_id, kind, from_value, to_value,
                                direction, at)
       SELECT id, customer_id, owner_id, 'grade', 'B', 'A', 1, created_at + interval '1 day'
       FROM deals WHERE grade = 'A'""",
]


def _seed(customers: int, follow_ups: int) -> None:
    from sqlalchemy import text

    from crm.demo import seed_demo
    from crm.extensions import db

    if db.engine.dialect.name != "postgresql":
        raise SystemExit("--seed needs PostgreSQL (generate_series)")
    seed_demo()
    db.session.commit()
    for statement in SEED_SQL:
        started = time.perf_counter()
        db.session.execute(text(statement), {"customers": customers, "follow_ups": follow_ups})
        db.session.commit()
        print(f"  seeded in {time.perf_counter() - started:6.1f} s: "
              f"{' '.join(statement.split()[:3])}")
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")


def _busiest_manager():
    from sqlalchemy import func, select

    from crm.accounts.models import Role, Team, User
    from crm.extensions import db

    manager = db.session.scalars(select(User).where(User.role == Role.MANAGER,
                                                    User.active.is_(True))
                                 .order_by(User.id)).all()
    best, most = None, -1
    for candidate in manager:
        team = db.session.get(Team, candidate.team_id) if candidate.team_id else None
        if team is None:
            continue
        people = db.session.scalar(select(func.count()).select_from(User).where(
            User.team_id.in_(select(Team.id).where(Team.path.startswith(team.path)))))
        if people > most:
            best, most = candidate, people
    return best, most


def _signed_in_client(app, user_id: int):
    from crm.accounts.models import User
    from crm.accounts.sessions import start_session
    from crm.extensions import db

    with app.app_context():
        token = start_session(db.session.get(User, user_id), remember=False).token
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    return client


def _one(client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, url
    return elapsed


def _statements(app, action) -> int:
    from sqlalchemy import event

    from crm.extensions import db

    with app.app_context():
        engine = db.engine
    count = [0]

    def before(*_args):
        count[0] += 1

    event.listen(engine, "before_cursor_execute", before)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return count[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--seed", action="store_true")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--follow-ups", type=int, default=1_000_000)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("Set DATABASE_URL to the database to measure.")

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from crm import create_app
    from crm.embedded import EmbeddedRedis
    from crm.extensions import db
    from crm.followups.models import FollowUp
    from crm.metrics.periods import Period, today_in
    from crm.metrics.summary import team_zone
    from crm.reports.jobs import generate_report
    from crm.reports.models import ReportKind, ReportRun
    from crm.reports.reports import period_for

    redis = None
    if not os.environ.get("REDIS_URL"):
        redis = EmbeddedRedis(Path(os.environ["CRM_INSTANCE_DIR"]))
        redis.start()
    try:
        app = create_app({"SECURE_COOKIES": False, "SESSION_COOKIE_SECURE": False})
        with app.app_context():
            upgrade()
            if args.seed:
                _seed(args.customers, args.follow_ups)
            follow_ups = db.session.scalar(select(func.count()).select_from(FollowUp))
            manager, people = _busiest_manager()
            if manager is None:
                raise SystemExit("No manager with a team: seed the database first.")
            team_id, zone = manager.team_id, team_zone(manager.team)
            print(f"{follow_ups} follow-ups; manager {manager.id} leads {people} people")
        client = _signed_in_client(app, manager.id)
        with app.app_context():
            from crm.accounts.models import Role, User

            admin_id = db.session.scalar(select(User.id).where(User.role == Role.ADMIN)
                                         .order_by(User.id).limit(1))
        admin = _signed_in_client(app, admin_id) if admin_id else None
        rows = [("manager: this month", client, "/dashboard"),
                ("manager: this quarter", client, "/dashboard?period=quarter"),
                ("manager: this week", client, "/dashboard?period=week")]
        if admin is not None:
            rows.append(("admin, every team: month", admin, "/dashboard"))
        # Interleaved pairs: the base layout (/more) and the page, one after the other, so a
        # busy machine slows both alike; the ratio is the median of the pairs' ratios.
        print(f"{'dashboard':<28}{'median ms':>10}{'p95 ms':>10}{'base ms':>9}{'× base':>8}"
              f"{'statements':>12}")
        for label, who, url in rows:
            assert who.get(url).status_code == 200 and who.get("/more").status_code == 200
            pairs = [(_one(who, "/more"), _one(who, url)) for _ in range(args.requests)]
            pages = sorted(page for _base, page in pairs)
            ratio = statistics.median(page / base for base, page in pairs)
            statements = _statements(app, lambda who=who, url=url: who.get(url))
            print(f"{label:<28}{statistics.median(pages):>10.1f}"
                  f"{pages[max(0, int(len(pages) * 0.95) - 1)]:>10.1f}"
                  f"{statistics.median(b for b, _p in pairs):>9.1f}{ratio:>8.1f}"
                  f"{statements:>12}")

        with app.app_context():
            last_month = period_for(ReportKind.MONTHLY, today_in(zone)).previous()
            run = db.session.scalars(select(ReportRun).where(
                ReportRun.team_id == team_id, ReportRun.kind == ReportKind.MONTHLY,
                ReportRun.period_start == last_month.start)).first()
            if run is None:
                run = ReportRun(team_id=team_id, kind=ReportKind.MONTHLY,
                                period_start=last_month.start, period_end=last_month.end)
                db.session.add(run)
                db.session.commit()
            run_id = run.id
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            statements = _statements(app, lambda: _in_context(app, generate_report, run_id))
            timings.append((time.perf_counter() - started) * 1000)
        print(f"monthly report of {Period('month', last_month.start, last_month.end).start}: "
              f"median {statistics.median(timings):.0f} ms over 3 runs, "
              f"{statements} statements")
    finally:
        if redis is not None:
            redis.stop()


def _in_context(app, function, *args):
    with app.app_context():
        return function(*args)


if __name__ == "__main__":
    main()
