"""A visit with a 6 s in-page recording on a slow 3G profile, and what a resumed upload costs.

    CHROMIUM_PATH=/usr/bin/chromium .venv/bin/python bench/offline_visit.py \
        [--latency-ms 400] [--kbit 400] [--seconds 6] [--resume-megabytes 1]

Starts its own server (gunicorn, a throwaway SQLite database, an embedded Redis) with a rep,
a customer who consented to recordings and a visit, then drives Debian's Chromium at phone
size through Chrome's network emulation (latency, up and down throughput):

1. From the log form already open: record for --seconds (Chromium's fake microphone), type
   the notes, Save; time and bytes (request and response, headers and bodies) until the
   card shows the visit.
2. A recording of --resume-megabytes picked on the upload page, the connection cut once
   half way (that piece is lost): bytes sent against the file's size.

The service worker is blocked here so that every request is measured under the emulation
(Chrome applies it to the page's own requests only).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from upload import PASSWORD, _free_port, _prepare  # noqa: E402


def _slow(page, latency_ms: int, kbit: int):
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    rate = kbit * 1000 / 8
    session.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": latency_ms, "downloadThroughput": rate,
        "uploadThroughput": rate})
    return session


class Meter:
    """Bytes of every finished or failed request: headers and bodies, both ways."""

    def __init__(self, page):
        self.bytes = 0
        self.requests = 0
        self.audio = 0
        page.on("requestfinished", self._count)

    def _count(self, request):
        try:
            sizes = request.sizes()
        except Exception:  # noqa: BLE001 - finished as the browser closed
            return
        self.requests += 1
        if "/chunks" in request.url:
            # Chrome reports no body size for a Blob body: the recording's size is added.
            self.bytes -= sizes["requestBodySize"]
        self.bytes += (sizes["requestHeadersSize"] + sizes["requestBodySize"]
                       + sizes["responseHeadersSize"] + sizes["responseBodySize"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=int, default=400)
    parser.add_argument("--kbit", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--resume-megabytes", type=float, default=1.0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="crm-bench-offline-"))
    instance = work / "instance"
    email = "bench.rep@example.test"
    visit_id = _prepare(instance, email)
    from crm import create_app
    from crm.extensions import db
    from crm.followups.models import FollowUp

    with create_app().app_context():
        customer_id = db.session.get(FollowUp, visit_id).customer_id

    from crm.embedded import EmbeddedRedis

    redis = EmbeddedRedis(instance)
    redis.start()
    port = _free_port()
    env = {**os.environ, "CRM_INSTANCE_DIR": str(instance), "SECURE_COOKIES": "0",
           "REDIS_URL": redis.url}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "app:app", "-w", "1", "--threads", "4", "-b",
         f"127.0.0.1:{port}", "--log-level", "warning"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    from playwright.sync_api import sync_playwright

    from crm.recordings.samples import write_sample

    try:
        time.sleep(2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
                args=["--no-sandbox", "--use-fake-ui-for-media-stream",
                      "--use-fake-device-for-media-stream"])
            context = browser.new_context(viewport={"width": 390, "height": 844},
                                          is_mobile=True, has_touch=True, locale="zh-CN",
                                          service_workers="block")
            page = context.new_page()
            for _ in range(50):
                try:
                    page.goto(f"{base}/login")
                    break
                except Exception:  # noqa: BLE001 - the server is still starting
                    time.sleep(0.2)
            page.fill("#email", email)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit].primary")
            page.wait_for_url(f"{base}/")
            page.goto(f"{base}/customers/{customer_id}/follow-ups/new")

            _slow(page, args.latency_ms, args.kbit)
            meter = Meter(page)
            page.click("[data-recorder-toggle]")
            page.wait_for_timeout(args.seconds * 1000)
            page.fill("#summary", "慢网下的拜访")
            page.click("[data-recorder-toggle]")
            page.locator("[data-recorder-status]").filter(has_text="✓").wait_for()
            meter.audio = page.evaluate("""() => window.crmOffline.all('chunks')
                .then(rows => rows.reduce((n, row) => n + row.blob.size, 0))""")
            meter.bytes += meter.audio
            started = time.perf_counter()
            page.click("button.primary[type=submit]")
            page.wait_for_url(f"**/customers/{customer_id}#follow-up-*", timeout=120_000)
            page.wait_for_load_state("load")
            elapsed = time.perf_counter() - started
            print(f"slow 3G ({args.latency_ms} ms, {args.kbit} kbit/s): a visit with a "
                  f"{args.seconds:g} s recording saved (Save to the card shown) in "
                  f"{elapsed:.1f} s, "
                  f"{meter.bytes / 1024:.1f} KiB in {meter.requests} requests "
                  f"(save, upload, card page and its assets), of which the audio "
                  f"{meter.audio / 1024:.1f} KiB ({meter.audio * 8 / args.seconds / 1000:.0f} "
                  f"kbit/s)")

            # A resumed upload.
            size = int(args.resume_megabytes * 1024 * 1024)
            head = write_sample(work / "head.ogg", "ogg", seconds=1.0).read_bytes()
            picked = work / "picked.ogg"
            picked.write_bytes(head + os.urandom(size - len(head)))
            pieces = []
            cut = {"done": False}

            def route(route_):
                offset = int(parse_qs(urlparse(route_.request.url).query)["offset"][0])
                length = len(route_.request.post_data_buffer or b"")
                pieces.append(length)
                if not cut["done"] and offset >= size // 2:
                    cut["done"] = True
                    route_.abort("connectionreset")
                    return
                route_.continue_()

            page.goto(f"{base}/follow-ups/{visit_id}/recordings/new")
            page.unroute("**/uploads/*/chunks*")
            page.route("**/uploads/*/chunks*", route)
            meter = Meter(page)
            started = time.perf_counter()
            page.set_input_files("#audio", str(picked))
            page.click("button.primary[type=submit]")
            page.wait_for_url("**/customers/*#follow-up-*", timeout=300_000)
            elapsed = time.perf_counter() - started
            sent = sum(pieces)
            print(f"resumed upload of {size / 1024:.0f} KiB cut once half way: "
                  f"{sent / 1024:.0f} KiB of pieces sent ({sent / size:.2f}×, "
                  f"{(sent - size) / 1024:.0f} KiB extra), {elapsed:.1f} s")
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
        redis.stop()


if __name__ == "__main__":
    main()
