"""Server time of pages against a bare Flask page, on a throwaway SQLite database.

    .venv/bin/python bench/pages.py [--requests 200]

Prints median and 95th percentile per page and the ratio to the bare page. Later areas add
their pages (customer card, search, pipeline board, review sheet) to PAGES.
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

PAGES = ["/", "/more", "/admin/users", "/admin/teams"]


def _time(client, url: str, requests: int) -> list[float]:
    client.get(url)  # warm caches and compiled templates
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    from flask import Flask
    from flask_migrate import upgrade

    from crm import create_app
    from crm.demo import DEMO_PASSWORD, seed_demo
    from crm.embedded import EmbeddedRedis

    instance = Path(os.environ["CRM_INSTANCE_DIR"])
    redis = EmbeddedRedis(instance)
    redis.start()
    try:
        app = create_app({"SECURE_COOKIES": False, "SESSION_COOKIE_SECURE": False,
                          "WTF_CSRF_ENABLED": False})
        with app.app_context():
            upgrade()
            seed_demo()
        client = app.test_client()
        client.post("/login", data={"email": "admin@demo.local", "password": DEMO_PASSWORD})

        bare = Flask("bare")
        bare.add_url_rule("/", "index", lambda: "<!doctype html><p>hello</p>")
        baseline = statistics.median(_time(bare.test_client(), "/", args.requests))

        print(f"{'page':<22}{'median ms':>10}{'p95 ms':>10}{'× bare':>9}")
        print(f"{'bare Flask page':<22}{baseline:>10.2f}{'':>10}{1:>9.1f}")
        for url in PAGES:
            samples = sorted(_time(client, url, args.requests))
            median = statistics.median(samples)
            p95 = samples[int(len(samples) * 0.95) - 1]
            print(f"{url:<22}{median:>10.2f}{p95:>10.2f}{median / baseline:>9.1f}")
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
