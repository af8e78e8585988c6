"""Security basics every page shares: headers, no inline script, fragments, the JS budget."""

import gzip
import re
from pathlib import Path

import pytest

from tests.access_matrix import ROUTES

STATIC = Path(__file__).resolve().parent.parent / "static"
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)

# Every HTML page (probes answer JSON, exports are files).
# Routes that answer with files, not pages.
NOT_PAGES = (".csv", ".xlsx", "/audio", "/original")
GET_PAGES = [r for r in ROUTES if r.method == "GET" and r.rule not in ("/healthz", "/readyz")
             and not r.rule.endswith(NOT_PAGES)]


def test_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "private" in response.headers["Cache-Control"]


# Pages that show a recording (its own page, reviews, the card and its sections, follow-ups)
# are checked with the world's recording on them.
SHOW_RECORDINGS = ("/recordings/", "/reviews", "/customers/<int:customer_id>", "/follow-ups/<int")


def _page(route):
    marks = [pytest.mark.recording] if route.rule.startswith(SHOW_RECORDINGS) else []
    return pytest.param(route, id=route.id, marks=marks)


@pytest.mark.parametrize("route", [_page(r) for r in GET_PAGES])
def test_no_inline_script_or_style_anywhere(world, login_as, route):
    response = login_as("admin").get(route.build_url(world), follow_redirects=True)
    if response.mimetype != "text/html":  # a file download (a report's XLSX, a ZIP)
        return
    html = response.get_data(as_text=True)
    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html)
    assert not INLINE_STYLE.search(html)


def test_javascript_budget_per_page():
    shipped = ["htmx.min.js", "app.js"]  # what base.html loads on every page
    total = sum(len(gzip.compress((STATIC / name).read_bytes(), 9)) for name in shipped)
    assert total < 25 * 1024, f"{total} bytes gzipped"


def test_base_layout_loads_only_the_budgeted_scripts(client):
    html = client.get("/login").get_data(as_text=True)
    # Under their content-hashed names (crm/static_files.py).
    assert [re.sub(r"\.[0-9a-f]{12}\.js$", ".js", src) for src in
            re.findall(r'<script src="([^"]+)"', html)] == ["/static/htmx.min.js",
                                                            "/static/app.js"]


def test_vendored_htmx_is_version_2():
    head = (STATIC / "htmx.min.js").read_text()[:20000]
    assert 'version:"2.0.11"' in head.replace(" ", "")


def test_csrf_header_is_on_the_body(login_as):
    html = login_as("rep").get("/").get_data(as_text=True)
    assert re.search(r'<body hx-headers=\'\{"X-CSRFToken": "[^"]+"\}\'', html)


def test_fragment_helper_ignores_history_restore(login_as):
    admin = login_as("admin")
    restore = admin.get("/admin/users", headers={"HX-Request": "true",
                                                 "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_error_pages_are_translated_and_do_not_leak(login_as):
    page = login_as("rep").get("/admin/users", headers={"Accept-Language": "en"})
    assert page.status_code == 403
    assert "Your role does not include this page" in page.get_data(as_text=True)
