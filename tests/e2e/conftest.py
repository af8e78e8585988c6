"""Real-browser fixtures: the app served on a free local port, Debian's Chromium driven by
Playwright (never a downloaded browser), one page per screen size."""

import os
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

# A busy two-core CI machine runs the suite twice; Playwright's 5 s default is tight there.
expect.set_options(timeout=10_000)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
EXPECTED_FORM_STATUSES = (409, 413, 415, 422, 429)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage",
                 # A fake microphone that says yes: the Record button can be tested.
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def _chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") \
        or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    path = _chromium_path()
    if not path:
        # `make test` leaves tests/e2e out (and says so) when there is no Chromium; asked for
        # explicitly, the browser tests fail rather than pretend to pass.
        pytest.fail("Chromium not found: install Debian's chromium package (apt-get install "
                    "chromium) or run the suite with `make test`, which says it leaves these out")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def app_config():
    # The live server speaks plain http on 127.0.0.1, as `make run` does.
    return {"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False,
            "PREFERRED_URL_SCHEME": "http"}


@pytest.fixture
def live_server(app):
    """The app served by a thread of its own. A test that asks for it runs on real commits
    (its data must be visible to the server's threads), not in a rolled-back transaction."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(params=sorted(VIEWPORTS))
def viewport(request):
    return request.param


@pytest.fixture
def page(browser, viewport, request):
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN",
                                  is_mobile=viewport == "phone", has_touch=viewport == "phone")
    page = context.new_page()
    errors = []

    def on_console(message):
        # A refused form answers 4xx on purpose (422 invalid, 409 stale, 429 slowed down);
        # anything else logged as an error (a missing file, a script error) fails the test.
        if message.type == "error" and not any(f"status of {code}" in message.text
                                                for code in EXPECTED_FORM_STATUSES):
            errors.append(message.text)

    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", on_console)
    page.viewport_name = viewport
    yield page
    context.close()
    assert errors == [], f"browser errors: {errors}"


@pytest.fixture
def sign_in(page, live_server):
    """Sign in through the real form and wait for Today (the demo speaks Chinese)."""
    from playwright.sync_api import expect

    from tests.conftest import PASSWORD

    def sign_in(email: str) -> None:
        page.goto(f"{live_server}/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit].primary")
        expect(page.locator(".topbar h1")).to_have_text("今日")

    return sign_in


@pytest.fixture
def shot(page, request):
    """Save a screenshot named after the test and the screen size, for people to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{request.node.originalname}-{name}-{page.viewport_name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
