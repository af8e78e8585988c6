"""Sign-in timing: does a wrong password for a known e-mail take as long as an unknown e-mail?

    .venv/bin/python bench/signin.py [--rounds 20]

Uses a throwaway SQLite database and an embedded Redis, one account made with the app's own
password hash (scrypt), and the Flask test client (server time only). Prints the median and
spread of each case and their ratio (target: close to 1), then the statuses of a guessing run
past the per-e-mail limit for a known and an unknown e-mail (they must be the same).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    instance = Path(tempfile.mkdtemp(prefix="crm-bench-signin-"))
    os.environ["CRM_INSTANCE_DIR"] = str(instance)

    from flask_migrate import upgrade

    from crm import create_app
    from crm.accounts.models import Role
    from crm.accounts.users import create_user
    from crm.embedded import EmbeddedRedis
    from crm.extensions import db

    redis = EmbeddedRedis(instance)
    redis.start()
    try:
        app = create_app({"REDIS_URL": redis.url, "WTF_CSRF_ENABLED": False,
                          "LOGIN_PAIR_LIMIT": 10_000, "LOGIN_ADDRESS_LIMIT": 10_000})
        with app.app_context():
            upgrade()
            create_user(email="known@bench.test", name="Known", role=Role.OFFICE,
                        password="amber-gate-71-river")
            db.session.commit()
        client = app.test_client()

        def timed(email: str) -> float:
            started = time.perf_counter()
            response = client.post("/login", data={"email": email, "password": "not-it-1234"})
            assert response.status_code == 422, response.status_code
            return (time.perf_counter() - started) * 1000

        timed("warm@bench.test")
        known, unknown = [], []
        for _ in range(args.rounds):  # interleaved pairs
            known.append(timed("known@bench.test"))
            unknown.append(timed("nobody@bench.test"))
        for label, values in (("known e-mail, wrong password", known),
                              ("unknown e-mail", unknown)):
            print(f"{label:30} median {statistics.median(values):7.1f} ms  "
                  f"min {min(values):7.1f}  max {max(values):7.1f}")
        print(f"ratio known/unknown (medians): "
              f"{statistics.median(known) / statistics.median(unknown):.3f}")

        app.config.update(LOGIN_PAIR_LIMIT=5)
        for email in ("known@bench.test", "nobody@bench.test"):
            fresh = app.test_client()
            fresh.environ_base["REMOTE_ADDR"] = f"10.0.0.{len(email)}"
            statuses = [fresh.post("/login", data={"email": email, "password": "x-wrong-123"})
                        .status_code for _ in range(7)]
            print(f"{email:22} statuses: {statuses}")
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
