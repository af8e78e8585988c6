"""Server time of pages against a bare Flask page, on a throwaway SQLite database.

    .venv/bin/python bench/pages.py [--requests 200] [--customers 100000]

Prints median and 95th percentile per page and the ratio to the bare page. The database gets
the demo data plus --customers more customers (bulk-inserted, spread over the demo reps and
the pool) so that lists, search and the card are measured at scale. Later areas add their
pages (pipeline board, review sheet) to PAGES.
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

# (who, URL); {card} is a customer of the manager's team.
PAGES = [("admin@demo.local", "/"), ("admin@demo.local", "/admin/users"),
         ("manager@demo.local", "/customers?tab=team"),
         ("manager@demo.local", "/customers?tab=team&q=zs"),
         ("manager@demo.local", "/customers?tab=team&q=0013"),
         ("manager@demo.local", "/customers?tab=pool&tier=key"),
         ("manager@demo.local", "{card}"),
         ("manager@demo.local", "/pipeline"),
         ("manager@demo.local", "/pipeline/sheet"),
         ("rep@demo.local", "/pipeline/sheet"),
         ("office@demo.local", "/customers?tab=all&q=科技")]


def _bulk_customers(count: int) -> None:
    """Insert `count` customers in batches, with search text, owners and pool members."""
    import random

    from sqlalchemy import insert, select

    from crm.accounts.models import Role, User
    from crm.clock import utcnow
    from crm.customers.models import Customer, Tier
    from crm.customers.search import build_search_contact, build_search_text
    from crm.extensions import db

    rng = random.Random(7)
    reps = list(db.session.scalars(select(User.id).where(User.role == Role.REP)))
    surnames = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
    given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
    now = utcnow()
    for start in range(0, count, 5000):
        rows = []
        for n in range(start, min(count, start + 5000)):
            name = rng.choice(surnames) + rng.choice(given) + rng.choice(given)
            customer = Customer(name=name, organisation=f"{rng.choice(surnames)}氏科技{n}",
                                phone_normalized=f"+86138{n:08d}"[:14], contacts=[], tags=[])
            rows.append({"name": name, "organisation": customer.organisation,
                         "phone": customer.phone_normalized,
                         "phone_normalized": customer.phone_normalized,
                         "search_text": build_search_text(customer),
                         "search_contact": build_search_contact(customer),
                         "tier": rng.choice([Tier.GENERAL, Tier.SUITABLE, Tier.KEY]),
                         "owner_id": rng.choice(reps + [None] * 3),
                         "created_at": now, "updated_at": now, "version": 1})
        db.session.execute(insert(Customer), rows)
        db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Autovacuum would get there in time; plans made before it are not what users see.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


def _time(client, url: str, requests: int) -> list[float]:
    client.get(url)  # warm caches and compiled templates
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def _bulk_deals() -> int:
    """One deal for every fifth owned customer, in every stage and grade, owned by its
    customer's owner; returns how many."""
    import itertools

    from sqlalchemy import insert, select

    from crm.clock import utcnow
    from crm.customers.models import Customer
    from crm.extensions import db
    from crm.pipeline.models import Deal, Grade, Stage

    now = utcnow()
    owned = db.session.execute(select(Customer.id, Customer.owner_id)
                               .where(Customer.owner_id.is_not(None))).all()[::5]
    combos = itertools.cycle(itertools.product(list(Stage), list(Grade)))
    rows = [{"customer_id": cid, "owner_id": owner, "title": f"商机{n}", "amount": 1000 + n,
             "stage": stage, "grade": grade, "created_at": now, "updated_at": now,
             "graded_at": now, "version": 1,
             "lost_reason": "价格" if stage == Stage.LOST else None}
            for n, ((cid, owner), (stage, grade)) in enumerate(zip(owned, combos, strict=False))]
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Deal), rows[start:start + 5000])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE deals")
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()

    from flask import Flask
    from flask_migrate import upgrade

    from crm import create_app
    from crm.demo import DEMO_PASSWORD, seed_demo
    from crm.embedded import EmbeddedRedis
    from crm.extensions import db

    instance = Path(os.environ["CRM_INSTANCE_DIR"])
    redis = EmbeddedRedis(instance)
    redis.start()
    try:
        app = create_app({"SECURE_COOKIES": False, "SESSION_COOKIE_SECURE": False,
                          "WTF_CSRF_ENABLED": False})
        with app.app_context():
            upgrade()
            seed_demo()
            started = time.perf_counter()
            _bulk_customers(args.customers)
            print(f"{args.customers} extra customers inserted in "
                  f"{time.perf_counter() - started:.1f} s")
            print(f"{_bulk_deals()} deals inserted")
            from sqlalchemy import select

            from crm.accounts.models import User
            from crm.customers.models import Customer

            manager_rep = db.session.scalar(select(User.id).where(User.email == "rep@demo.local"))
            card = db.session.scalar(select(Customer.id).where(Customer.owner_id == manager_rep)
                                     .order_by(Customer.id.desc()).limit(1))
        clients = {}

        def client_for(email):
            if email not in clients:
                clients[email] = app.test_client()
                clients[email].post("/login", data={"email": email, "password": DEMO_PASSWORD})
            return clients[email]

        bare = Flask("bare")
        bare.add_url_rule("/", "index", lambda: "<!doctype html><p>hello</p>")
        baseline = statistics.median(_time(bare.test_client(), "/", args.requests))

        print(f"{'page':<40}{'median ms':>10}{'p95 ms':>10}{'× bare':>9}")
        print(f"{'bare Flask page':<40}{baseline:>10.2f}{'':>10}{1:>9.1f}")
        for email, url in PAGES:
            url = url.format(card=f"/customers/{card}")
            samples = sorted(_time(client_for(email), url, args.requests))
            median = statistics.median(samples)
            p95 = samples[int(len(samples) * 0.95) - 1]
            print(f"{url:<40}{median:>10.2f}{p95:>10.2f}{median / baseline:>9.1f}")
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
