"""The background processes: `python worker.py` runs an RQ worker (with RQ's scheduler for
delayed jobs); `python worker.py --cron` runs the periodic-job process (one leads at a time)."""

import argparse
import logging
import os

from crm import create_app
from crm.cron import run_cron
from crm.queue import QUEUE_NAMES, make_worker


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cron", action="store_true", help="run the periodic-job process")
    parser.add_argument("--burst", action="store_true", help="work until the queues are empty")
    parser.add_argument("--queues", nargs="*", default=list(QUEUE_NAMES))
    args = parser.parse_args(argv)
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    # Built once here, before the worker forks a work horse per job.
    app = create_app()
    if args.cron:
        with app.app_context():
            run_cron()
        return
    worker = make_worker(app, queues=args.queues)
    worker.work(with_scheduler=True, burst=args.burst, logging_level=level)


if __name__ == "__main__":
    main()
