"""Server time and SQL statements of the key pages at scale, against the app's own floor.

    .venv/bin/python bench/pages.py [--pairs 60] [--customers 100000] [--follow-ups 1000000]
                                    [--json bench-pages.json]

Runs on the configured database (DATABASE_URL, or SQLite in CRM_INSTANCE_DIR; a throwaway
folder when neither is set). A database without the benchmark data is first seeded the way
`flask --app app bench-seed` does (demo plus --customers and --follow-ups); point it at a
database seeded once to measure again without waiting.

The reference is a page the bench registers itself: signed in, the base layout with an
empty body. Each page is timed in interleaved pairs (reference, page; then page, reference),
so a busy moment of the machine slows both; the table gives the page's median, the median of
its ratio to the reference in the same pair, its statements per request and its compressed
size. Requests ask for gzip and br as a browser does.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if not os.environ.get("DATABASE_URL"):
    os.environ.setdefault("CRM_INSTANCE_DIR", tempfile.mkdtemp(prefix="crm-bench-"))

REP, MANAGER, OFFICE = "rep@demo.local", "manager@demo.local", "office@demo.local"

# (name, who, URL); {card} is the demo rep's busiest customer. Pages other issues add are
# measured when the app has their routes (OPTIONAL).
PAGES = [
    ("Today (rep)", REP, "/"),
    ("Today (manager)", MANAGER, "/"),
    ("customers: mine", REP, "/customers?tab=mine"),
    ("customers: team", MANAGER, "/customers?tab=team"),
    ("customers: pool", REP, "/customers?tab=pool"),
    ("search: Chinese 科技", OFFICE, "/customers?tab=all&q=科技"),
    ("search: initials zs", MANAGER, "/customers?tab=team&q=zs"),
    ("search: phone digits", MANAGER, "/customers?tab=team&q=13005"),
    ("search: no hit", OFFICE, "/customers?tab=all&q=qqxxzz"),
    ("customer card", REP, "{card}"),
    ("board", MANAGER, "/pipeline"),
    ("review sheet", MANAGER, "/pipeline/sheet"),
    ("review queue", MANAGER, "/reviews"),
]
OPTIONAL = [
    ("dashboard", MANAGER, "/dashboard"),
    ("report", MANAGER, "/reports"),
    ("notifications", REP, "/notifications"),
]
ACCEPT = {"Accept-Encoding": "gzip, deflate, br"}


def _ensure_data(app, customers: int, follow_ups: int) -> None:
    from flask_migrate import upgrade

    from crm.bench_seed import analyze, bench_seeded, seed_at_scale
    from crm.cli import _seed_demo_with_redis
    from crm.extensions import db

    with app.app_context():
        upgrade()
        if bench_seeded():
            print("benchmark data already there: measuring it")
            return
        started = time.perf_counter()
        _seed_demo_with_redis()
        seed_at_scale(customers=customers, follow_ups=follow_ups)
        db.session.commit()
        analyze()
        print(f"seeded in {time.perf_counter() - started:.1f} s")


def _busiest_card(app) -> str:
    from sqlalchemy import func, select

    from crm.accounts.models import User
    from crm.customers.models import Customer
    from crm.extensions import db
    from crm.followups.models import FollowUp

    with app.app_context():
        rep = db.session.scalar(select(User.id).where(User.email == REP))
        mine = select(Customer.id).where(Customer.owner_id == rep)
        card = db.session.scalar(
            select(FollowUp.customer_id).where(FollowUp.customer_id.in_(mine))
            .group_by(FollowUp.customer_id).order_by(func.count().desc()).limit(1))
    return f"/customers/{card}"


def _register_reference(app) -> None:
    from flask import render_template
    from flask_login import login_required

    # Compiled once, as the app's own templates are: render_template_string would compile
    # the source on every request and make the floor look slower than it is.
    empty_page = app.jinja_env.from_string('{% extends "base.html" %}{% block content %}'
                                           '{% endblock %}')

    @login_required
    def floor():
        return render_template(empty_page)

    app.add_url_rule("/_bench/floor", "bench_floor", floor)


class Statements:
    def __init__(self, engine):
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._one)

    def _one(self, *_args):
        self.count += 1


def _timed(client, url: str) -> tuple[float, object]:
    start = time.perf_counter()
    response = client.get(url, headers=ACCEPT)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    return elapsed, response


def measure(app, pages, pairs: int) -> list[dict]:
    from crm.demo import DEMO_PASSWORD
    from crm.extensions import db

    with app.app_context():
        statements = Statements(db.engine)
    clients = {}

    def client_for(email):
        if email not in clients:
            client = app.test_client()
            response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
            if response.status_code not in (302, 303):
                raise SystemExit(f"could not sign in as {email}")
            clients[email] = client
        return clients[email]

    results = []
    for name, email, url in pages:
        client = client_for(email)
        for warm in (url, "/_bench/floor"):  # compiled templates, caches
            _timed(client, warm)
        before = statements.count
        _elapsed, response = _timed(client, url)
        count = statements.count - before
        before = statements.count
        _timed(client, "/_bench/floor")
        floor_count = statements.count - before
        times, floors, ratios = [], [], []
        for n in range(pairs):
            order = (url, "/_bench/floor") if n % 2 == 0 else ("/_bench/floor", url)
            got = {u: _timed(client, u)[0] for u in order}
            times.append(got[url])
            floors.append(got["/_bench/floor"])
            ratios.append(got[url] / got["/_bench/floor"])
        body = response.get_data()
        results.append({
            "page": name, "url": url, "who": email, "statements": count,
            "reference_statements": floor_count,
            "median_ms": round(statistics.median(times), 2),
            "reference_ms": round(statistics.median(floors), 2),
            "ratio": round(statistics.median(ratios), 2),
            "bytes_sent": len(body),
            "encoding": response.headers.get("Content-Encoding", "identity")})
        print(f"{name:<24}{count:>6}{results[-1]['median_ms']:>10.1f}"
              f"{results[-1]['reference_ms']:>9.1f}{results[-1]['ratio']:>8.1f}"
              f"{len(body) / 1024:>9.1f} {results[-1]['encoding']}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=60)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--follow-ups", dest="follow_ups", type=int, default=1_000_000)
    parser.add_argument("--json", default="bench-pages.json", help="where to write the figures")
    parser.add_argument("--only", help="measure the pages whose name contains this")
    args = parser.parse_args()

    from crm import create_app
    from crm.embedded import EmbeddedRedis

    redis = None
    if not os.environ.get("REDIS_URL"):
        redis = EmbeddedRedis(Path(os.environ["CRM_INSTANCE_DIR"]))
        redis.start()
    try:
        app = create_app({"SECURE_COOKIES": False, "SESSION_COOKIE_SECURE": False,
                          "REMEMBER_COOKIE_SECURE": False, "WTF_CSRF_ENABLED": False})
        _register_reference(app)
        _ensure_data(app, args.customers, args.follow_ups)
        card = _busiest_card(app)
        urls = {rule.rule for rule in app.url_map.iter_rules()}
        pages = PAGES + [page for page in OPTIONAL if page[2] in urls]
        pages = [(n, e, u.format(card=card)) for n, e, u in pages
                 if not args.only or args.only in n]
        with app.app_context():
            from crm.extensions import db
            backend = db.engine.dialect.name
        print(f"database: {backend}; {args.pairs} interleaved pairs per page")
        print(f"{'page':<24}{'stmts':>6}{'median ms':>10}{'ref ms':>9}{'× ref':>8}"
              f"{'KB sent':>9} encoding")
        results = measure(app, pages, args.pairs)
        Path(args.json).write_text(json.dumps({"database": backend, "pairs": args.pairs,
                                               "pages": results}, ensure_ascii=False,
                                              indent=1))
        print(f"figures written to {args.json}")
    finally:
        if redis is not None:
            redis.stop()


if __name__ == "__main__":
    main()
