"""Fit scores and routing at scale, on a throwaway SQLite database (or DATABASE_URL).

    .venv/bin/python bench/routing.py [--customers 100000]

Seeds the demo data plus --customers customers (a third of them with an industry and size),
then prints: rescoring every customer after a profile change (one DELETE, one INSERT …
SELECT), rescoring one edited customer, routing one lead and a batch of 30, and the customer
list sorted by fit against the plain list (server time, median of 20).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from seeded import seeded_app, time_get  # noqa: E402  (sets CRM_INSTANCE_DIR first)


def _timed(label: str, action) -> None:
    started = time.perf_counter()
    action()
    print(f"{label}: {(time.perf_counter() - started) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()

    from sqlalchemy import select, text

    from crm.accounts.models import Team, User
    from crm.customers.editing import create_customer
    from crm.customers.models import Customer
    from crm.demo import DEMO_PASSWORD
    from crm.extensions import db
    from crm.routing import fit, routing, setup

    with seeded_app(args.customers) as app:
        db.session.execute(text(
            "UPDATE customers SET industry = CASE id % 3 WHEN 0 THEN '制造业' "
            "WHEN 1 THEN '医疗' ELSE NULL END, size_band = CASE id % 4 WHEN 0 THEN "
            "'large' WHEN 1 THEN 'small' ELSE NULL END"))
        db.session.commit()
        manager = db.session.scalar(select(User).where(User.email == "manager@demo.local"))
        team = db.session.get(Team, manager.team_id)
        total = db.session.scalar(select(db.func.count()).select_from(Customer))
        print(f"{total} customers")

        def rescore_all():
            fit.set_profile(team.id, [("industry", "制造业", 3), ("industry", "医疗", 2),
                                      ("size_band", "large", 2), ("tier", "key", 1)])
            db.session.commit()

        _timed("profile saved, every customer rescored", rescore_all)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("ANALYZE customer_fits")

        def rescore_one():
            customer = db.session.scalar(select(Customer).limit(1))
            customer.industry = "医疗" if customer.industry != "医疗" else "制造业"
            db.session.commit()

        _timed("one customer edited and rescored", rescore_one)
        setup.save_rule(team, {"name": "all"})
        db.session.commit()

        def route(n):
            ids = [create_customer({"name": f"bench lead {time.perf_counter_ns()}-{i}"},
                                   None).id for i in range(n)]
            routing.route_customers(ids, team, None)
            db.session.commit()

        _timed("1 lead created and routed", lambda: route(1))
        _timed("30 leads created and routed", lambda: route(30))
        client = app.test_client()
        client.post("/login", data={"email": "manager@demo.local", "password": DEMO_PASSWORD})
        for url in ("/customers?tab=team", "/customers?tab=team&sort=fit",
                    "/customers?tab=pool&sort=fit&fit_min=70"):
            print(f"{url}: median {statistics.median(time_get(client, url, 20)):.1f} ms")


if __name__ == "__main__":
    main()
