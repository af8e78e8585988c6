"""A repeat visit in a real browser asks the server for the page alone: scripts, styles,
icons and fonts come from the browser's cache (hashed names, cached for a year), and the
page itself arrives compressed. The one thing the browser may still ask for is the service
worker's script, when it checks for a new version of the app."""

import threading

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.parametrize("viewport", ["phone"], indirect=True)


class Requests:
    """What reached the server, recorded below every middleware (WhiteNoise included)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.seen.append((environ["PATH_INFO"], environ.get("HTTP_ACCEPT_ENCODING", "")))
        return self.wsgi_app(environ, start_response)

    def since(self, mark: int) -> list[tuple[str, str]]:
        with self.lock:
            return self.seen[mark:]


@pytest.fixture
def requests_seen(app):
    recorder = Requests(app.wsgi_app)
    app.wsgi_app = recorder
    yield recorder
    app.wsgi_app = recorder.wsgi_app


def test_a_repeat_visit_asks_for_the_page_alone(page, requests_seen, live_server, world,
                                                 sign_in):
    sign_in(world.rep.email)
    pages = ["/", "/customers", f"/customers/{world.customers.rep}", "/pipeline",
             "/notifications"]
    encodings = {}

    def remember_encoding(response):
        if response.request.resource_type == "document":
            encodings[response.url] = response.header_value("content-encoding")

    page.on("response", remember_encoding)
    for path in pages:  # the first visit fills the cache
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
    first_static = [p for p, _ in requests_seen.seen if p.startswith("/static/")]
    assert first_static, "the first visit should have fetched the page's static files"

    for path in pages:
        mark = len(requests_seen.seen)
        page.goto(f"{live_server}{path}")
        expect(page.locator("main")).to_be_visible()
        page.wait_for_load_state("networkidle")
        asked = [p for p, _ in requests_seen.since(mark)]
        # Besides the page, only the browser's own check for a newer service worker may
        # come: that fetch bypasses the HTTP cache by design (Service Workers, "Update").
        assert [p for p in asked if p != "/sw.js"] == [path], (path, asked)
        assert asked.count("/sw.js") <= 1, (path, asked)
        assert encodings[f"{live_server}{path}"] in ("br", "gzip"), path
