"""The customer's voice at scale: feedback list, care list, satisfaction and the overdue sweep.

    .venv/bin/python bench/voice.py [--requests 50] [--customers 100000] [--feedback 50000]

Seeds the demo data plus --customers customers (a third with birthdays, a quarter of those
lunar), --feedback feedback rows (half overdue) and one survey for every fourth owned customer
(two thirds answered), then prints the median and 95th percentile server time of each page
against a bare Flask page, and the time of one overdue sweep (a single INSERT … SELECT).
Uses a throwaway SQLite database, or PostgreSQL when DATABASE_URL is set (use an empty one).
"""

import argparse
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.seeded import seeded_app, time_get  # noqa: E402  (sets CRM_INSTANCE_DIR first)

PAGES = [("manager@demo.local", "/feedback"),
         ("manager@demo.local", "/feedback?overdue=1&kind=complaint"),
         ("office@demo.local", "/feedback?status=open"),
         ("rep@demo.local", "/care"),
         ("manager@demo.local", "/care?period=month"),
         ("office@demo.local", "/care?period=month"),
         ("manager@demo.local", "/satisfaction"),
         ("manager@demo.local", "{card}")]


def _bulk_voice(feedback_count: int) -> tuple[int, int]:
    import secrets

    from sqlalchemy import insert, select, update

    from crm.clock import utcnow
    from crm.customers.models import Customer
    from crm.extensions import db
    from crm.voice.models import Feedback, Survey

    rng = random.Random(11)
    now = utcnow()
    owned = db.session.execute(select(Customer.id, Customer.owner_id)
                               .where(Customer.owner_id.is_not(None))).all()
    ids = [cid for cid, _owner in owned]
    for start in range(0, len(ids), 3):
        birthday = date(1960, 1, 1) + timedelta(days=rng.randrange(0, 15000))
        db.session.execute(update(Customer).where(Customer.id == ids[start])
                           .values(birthday=birthday, birthday_lunar=start % 4 == 0))
    db.session.commit()
    rows = []
    for n in range(feedback_count):
        cid, owner = owned[rng.randrange(len(owned))]
        received = now - timedelta(hours=rng.randrange(1, 24 * 60))
        rows.append({"customer_id": cid, "kind": rng.choice(["complaint", "suggestion",
                                                             "praise"]),
                     "channel": "phone", "severity": rng.choice(["high", "normal", "low"]),
                     "status": rng.choice(["open", "in_progress", "resolved", "closed"]),
                     "summary": f"反馈{n}", "assignee_id": owner, "received_at": received,
                     "due_at": received + timedelta(hours=rng.choice([24, 72, 24 * 90])),
                     "deadline_episode": 1, "valuable": n % 50 == 0,
                     "valuable_note": "好建议" if n % 50 == 0 else None,
                     "created_at": received, "version": 1})
        if len(rows) == 5000:
            db.session.execute(insert(Feedback), rows)
            rows = []
    if rows:
        db.session.execute(insert(Feedback), rows)
    surveys = []
    for cid, owner in owned[::4]:
        sent = now - timedelta(days=rng.randrange(0, 80))
        answered = rng.random() < 0.66
        surveys.append({"customer_id": cid, "rep_id": owner, "team_id": None,
                        "scale": "stars", "reason": "other",
                        "nonce": secrets.token_urlsafe(24), "created_at": sent,
                        "expires_at": sent + timedelta(days=14),
                        "answered_at": sent + timedelta(hours=3) if answered else None,
                        "score": rng.randint(1, 5) if answered else None})
    for start in range(0, len(surveys), 5000):
        db.session.execute(insert(Survey), surveys[start:start + 5000])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    return feedback_count, len(surveys)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--feedback", type=int, default=50_000)
    args = parser.parse_args()

    from flask import Flask
    from sqlalchemy import select

    from crm.accounts.models import User
    from crm.customers.models import Customer
    from crm.demo import DEMO_PASSWORD
    from crm.extensions import db
    from crm.voice.feedback import notify_overdue

    with seeded_app(args.customers) as app:
        made = _bulk_voice(args.feedback)
        print(f"{args.customers} customers, {made[0]} feedback, {made[1]} surveys")
        # Team ids for the surveys: their rep's team, in one statement.
        from sqlalchemy import update

        from crm.voice.models import Survey

        db.session.execute(update(Survey).values(team_id=select(User.team_id).where(
            User.id == Survey.rep_id).scalar_subquery()))
        db.session.commit()
        started = time.perf_counter()
        told = notify_overdue()
        db.session.commit()
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = notify_overdue()
        db.session.commit()
        print(f"overdue sweep: {told} notified in {first * 1000:.0f} ms; run again: "
              f"{again} in {(time.perf_counter() - started) * 1000:.0f} ms")
        rep = db.session.scalar(select(User.id).where(User.email == "rep@demo.local"))
        card = db.session.scalar(select(Customer.id).where(Customer.owner_id == rep)
                                 .order_by(Customer.id.desc()).limit(1))
        clients = {}

        def client_for(email):
            if email not in clients:
                clients[email] = app.test_client()
                clients[email].post("/login", data={"email": email, "password": DEMO_PASSWORD})
            return clients[email]

        bare = Flask("bare")
        bare.add_url_rule("/", "index", lambda: "<!doctype html><p>hello</p>")
        baseline = statistics.median(time_get(bare.test_client(), "/", args.requests))
        print(f"{'page':<44}{'median ms':>10}{'p95 ms':>10}{'× bare':>9}")
        print(f"{'bare Flask page':<44}{baseline:>10.2f}{'':>10}{1:>9.1f}")
        for email, url in PAGES:
            url = url.format(card=f"/customers/{card}")
            client = client_for(email)
            assert client.get(url).status_code == 200, url
            samples = sorted(time_get(client, url, args.requests))
            median = statistics.median(samples)
            p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
            print(f"{email.split('@')[0] + ' ' + url:<44}{median:>10.2f}{p95:>10.2f}"
                  f"{median / baseline:>9.1f}")


if __name__ == "__main__":
    main()
