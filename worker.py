"""The background processes: `python worker.py` runs an RQ worker for the general queues
(with RQ's scheduler for delayed jobs); `python worker.py --media` one for media work
(transcoding recordings), so a long transcode never holds up reminders or sweeps;
`python worker.py --cron` runs the periodic-job process (one leads at a time)."""

import argparse
import logging
import os
import signal
import time

from redis.exceptions import RedisError

from crm import create_app
from crm.cron import run_cron
from crm.queue import GENERAL_QUEUES, MEDIA_QUEUE, die_with_parent, make_worker


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
    # Whatever the worker forks (a work horse per job, RQ's scheduler) dies with it.
    os.register_at_fork(after_in_child=die_with_parent)
    # Delayed jobs are moved onto their queues by the general workers' scheduler.
    serve(app, queues, with_scheduler=not args.media or bool(args.queues), burst=args.burst,
          level=level)


def serve(app, queues, *, with_scheduler: bool, burst: bool, level: str) -> None:
    """Work until asked to stop. RQ rides out most Redis errors itself, but quits on one it
    meets elsewhere (Redis gone while a job finishes, while registering or tearing down);
    then a fresh worker starts after a growing pause instead of the process ending."""
    log = logging.getLogger("worker")
    pause = 1.0
    while True:
        worker = None
        began = time.monotonic()
        try:
            worker = make_worker(app, queues=queues)  # asks Redis for its own address
            worker.work(with_scheduler=with_scheduler, burst=burst, logging_level=level)
            if burst or worker._stop_requested:
                return
            reason = "stopped on an error (see above)"
        except RedisError as error:
            if burst or getattr(worker, "_stop_requested", False):
                raise
            reason = f"Redis error ({error})"
        if time.monotonic() - began > 60:
            pause = 1.0  # it had been working: this is a new fault, not the same one
        log.warning("worker: %s; starting again in %.0f s", reason, pause)
        # No job runs now: a stop request during the pause may simply end the process.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        time.sleep(pause)
        pause = min(pause * 2, 30.0)


if __name__ == "__main__":
    main()
