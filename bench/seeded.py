"""What the area benchmarks share: the app on a seeded database, and timing a page.

The database is DATABASE_URL's, or a throwaway SQLite in CRM_INSTANCE_DIR; Redis is
REDIS_URL's, or an embedded one in that folder. Seeding is `flask bench-seed`'s own
(crm.bench_seed), skipped when the database already holds it.
"""

import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("CRM_INSTANCE_DIR", tempfile.mkdtemp(prefix="crm-bench-"))

BENCH_CONFIG = {"SECURE_COOKIES": False, "SESSION_COOKIE_SECURE": False,
                "WTF_CSRF_ENABLED": False}


@contextmanager
def seeded_app(customers: int, follow_ups: int = 0):
    """Yield the app, inside its context, migrated and seeded with the demo plus `customers`
    customers (and `follow_ups` follow-ups) in four teams."""
    from flask_migrate import upgrade

    from crm import create_app
    from crm.bench_seed import analyze, bench_seeded, seed_at_scale
    from crm.demo import seed_demo
    from crm.embedded import EmbeddedRedis
    from crm.extensions import db

    redis = None
    if not os.environ.get("REDIS_URL"):
        redis = EmbeddedRedis(Path(os.environ["CRM_INSTANCE_DIR"]))
        redis.start()
    try:
        app = create_app(BENCH_CONFIG)
        with app.app_context():
            upgrade()
            if not bench_seeded():
                seed_demo()
                seed_at_scale(customers=customers, follow_ups=follow_ups, teams=4,
                              say=lambda _line: None)
                db.session.commit()
                analyze()
            yield app
    finally:
        if redis is not None:
            redis.stop()


def time_get(client, url: str, times: int) -> list[float]:
    """Server round trips of GET `url` in milliseconds, after one warm-up."""
    client.get(url)
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        assert client.get(url).status_code == 200, url
        samples.append((time.perf_counter() - started) * 1000)
    return samples
