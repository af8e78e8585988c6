"""Time each reminder sweep against a database.

    DATABASE_URL=postgresql://…/crm_bench .venv/bin/python bench/reminders.py
    .venv/bin/python bench/reminders.py --seed-customers 100000 --follow-ups 1000000

Without DATABASE_URL it uses a throwaway SQLite database (migrated, with the demo data). With
--seed-customers/--follow-ups it first adds that many customers (spread over the demo reps,
with birthdays and protection ends) and follow-ups (next dates spread over ±40 days), plus a
task per 20 customers and a won deal per 50; on an existing database seed once (or use
`flask --app app bench-seed` where available), then time without seeding.

Each sweep runs twice inside one transaction — the first run makes the notifications, the
second shows what an idempotent re-run costs — and everything is rolled back at the end (use
--keep to commit), so the figures can be taken again on the same data.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("CRM_INSTANCE_DIR", tempfile.mkdtemp(prefix="crm-bench-"))

BATCH = 5000


def _seed(customers: int, follow_ups: int) -> None:
    from sqlalchemy import func, insert, select

    from crm.accounts.models import Role, User
    from crm.customers.models import Customer
    from crm.extensions import db
    from crm.followups.models import FollowUp
    from crm.pipeline.models import Deal, Grade, Stage
    from crm.reminders.models import Task

    rng = random.Random(11)
    reps = list(db.session.scalars(select(User.id).where(User.role == Role.REP)))
    if not reps:
        raise SystemExit("no reps in the database: seed the demo data first")
    now = datetime.now(UTC)
    first_id = (db.session.scalar(select(func.max(Customer.id))) or 0) + 1
    started = time.perf_counter()
    for start in range(0, customers, BATCH):
        rows = []
        for n in range(start, min(customers, start + BATCH)):
            rows.append({
                "name": f"压测客户{n}", "owner_id": rng.choice(reps + [None]),
                "birthday": (now - timedelta(days=rng.randint(20 * 365, 60 * 365))).date()
                if rng.random() < 0.5 else None,
                "birthday_lunar": rng.random() < 0.2,
                "protected_until": now + timedelta(days=rng.randint(-5, 30))
                if rng.random() < 0.6 else None,
                "search_text": "", "search_contact": "", "tier": "general", "kind": "person",
                "created_at": now, "updated_at": now, "version": 1})
        db.session.execute(insert(Customer), rows)
        db.session.commit()
    ids = list(range(first_id, first_id + customers))
    owners = dict(db.session.execute(select(Customer.id, Customer.owner_id)
                                     .where(Customer.id >= first_id)).all())
    print(f"{customers} customers in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    today = now.date()
    for start in range(0, follow_ups, BATCH):
        rows = []
        for n in range(start, min(follow_ups, start + BATCH)):
            customer = ids[n % len(ids)]
            occurred = now - timedelta(days=400 - (n // len(ids)) % 400, minutes=n % 997)
            rows.append({"customer_id": customer, "author_id": owners[customer] or reps[0],
                         "kind": "visit", "occurred_at": occurred, "summary": "压测",
                         "next_date": today + timedelta(days=rng.randint(-40, 40)),
                         "created_at": occurred, "version": 1})
        db.session.execute(insert(FollowUp), rows)
        db.session.commit()
    print(f"{follow_ups} follow-ups in {time.perf_counter() - started:.1f} s")
    owned = [(cid, owner) for cid, owner in owners.items() if owner]
    tasks = [{"title": "压测任务", "assignee_id": owner, "created_by_id": owner,
              "customer_id": cid, "due_on": today + timedelta(days=rng.randint(-10, 5)),
              "snoozed_times": 0, "created_at": now, "version": 1}
             for cid, owner in owned[::20]]
    deals = [{"customer_id": cid, "owner_id": owner, "title": "压测商机", "stage": Stage.WON,
              "grade": Grade.A, "closed_at": now - timedelta(days=rng.randint(0, 200)),
              "created_at": now - timedelta(days=300), "updated_at": now, "graded_at": now,
              "version": 1} for cid, owner in owned[::50]]
    for table, rows in ((Task, tasks), (Deal, deals)):
        for start in range(0, len(rows), BATCH):
            db.session.execute(insert(table), rows[start:start + BATCH])
    db.session.commit()
    print(f"{len(tasks)} tasks, {len(deals)} won deals")
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed-customers", type=int, default=0)
    parser.add_argument("--follow-ups", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="commit what the sweeps made")
    parser.add_argument("--demo", action="store_true",
                        help="seed the demo data first (always done on the throwaway SQLite)")
    args = parser.parse_args()
    throwaway = not os.environ.get("DATABASE_URL")
    redis = None
    if not os.environ.get("REDIS_URL"):  # the demo data enqueues its recordings' processing
        from crm.embedded import EmbeddedRedis

        redis = EmbeddedRedis(Path(os.environ["CRM_INSTANCE_DIR"]))
        redis.start()
    try:
        _measure(args, throwaway)
    finally:
        if redis is not None:
            redis.stop()


def _measure(args, throwaway: bool) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from crm import create_app
    from crm.customers.models import Customer
    from crm.extensions import db
    from crm.followups.models import FollowUp
    from crm.reminders import delivery, sweeps

    app = create_app({"SMTP_URL": "smtp://127.0.0.1:9"})  # plan digests; none is sent
    with app.app_context():
        upgrade()
        if throwaway or args.demo:
            from crm.demo import seed_demo

            seed_demo()
        if args.seed_customers or args.follow_ups:
            _seed(max(args.seed_customers, 1), args.follow_ups)
        counts = (db.session.scalar(select(func.count()).select_from(Customer)),
                  db.session.scalar(select(func.count()).select_from(FollowUp)))
        print(f"{db.engine.dialect.name}: {counts[0]} customers, {counts[1]} follow-ups")
        print(f"{'sweep':<22}{'first ms':>10}{'made':>9}{'again ms':>10}{'made':>6}")
        cal = sweeps.calendar()
        total = [0.0, 0.0]
        for sweep in (*sweeps.SWEEPS, delivery.plan_digests):
            figures = []
            for _run in range(2):
                started = time.perf_counter()
                made = sweep(cal)
                figures += [(time.perf_counter() - started) * 1000, made]
            total[0] += figures[0]
            total[1] += figures[2]
            print(f"{sweep.__name__:<22}{figures[0]:>10.1f}{figures[1]:>9}"
                  f"{figures[2]:>10.1f}{figures[3]:>6}")
        print(f"{'all sweeps':<22}{total[0]:>10.1f}{'':>9}{total[1]:>10.1f}")
        if args.keep:
            db.session.commit()
        else:
            db.session.rollback()


if __name__ == "__main__":
    main()
