"""The background processes: `python worker.py` runs an RQ worker for the general queues
(with RQ's scheduler for delayed jobs); `python worker.py --media` one for media work
(transcoding recordings), so a long transcode never holds up reminders or sweeps;
`python worker.py --cron` runs the periodic-job process (one leads at a time)."""

import argparse
import logging
import os

from crm import create_app
from crm.cron import run_cron
from crm.queue import GENERAL_QUEUES, MEDIA_QUEUE, make_worker


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cron", action="store_true", help="run the periodic-job process")
    parser.add_argument("--burst", action="store_true", help="work until the queues are empty")
    parser.add_argument("--media", action="store_true",
                        help="serve the media queue (transcoding) instead of the general ones")
    parser.add_argument("--queues", nargs="*", help="serve exactly these queues")
    args = parser.parse_args(argv)
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    # Built once here, before the worker forks a work horse per job.
    app = create_app()
    if args.cron:
        with app.app_context():
            run_cron()
        return
    queues = args.queues or ([MEDIA_QUEUE] if args.media else list(GENERAL_QUEUES))
    worker = make_worker(app, queues=queues)
    worker.work(with_scheduler=True, burst=args.burst, logging_level=level)


if __name__ == "__main__":
    main()
