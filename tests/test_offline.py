"""Offline logging on the server's side: the service worker and the manifest, the waiting
page, the scripts offline pages load (the budget), and what the log form answers a script."""

import gzip
import json
import re
from pathlib import Path

from sqlalchemy import select

from crm.extensions import db
from crm.followups.models import FollowUp

STATIC = Path(__file__).resolve().parent.parent / "static"
BUDGET = 25 * 1024


def _scripts(html: str) -> list[str]:
    """The page's scripts by their file names (served under content-hashed names)."""
    return [re.sub(r"\.[0-9a-f]{12}(\.js)$", r"\1", name)
            for name in re.findall(r'<script src="/static/([^"]+)"', html)]


def _gzipped(names) -> int:
    return sum(len(gzip.compress((STATIC / name).read_bytes(), 9)) for name in names)


def test_the_service_worker_is_served_from_the_root_with_its_version(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.get_data(as_text=True)
    assert "__VERSION__" not in body and "__ASSETS__" not in body
    version = re.search(r'var VERSION = "([0-9a-f]{16})"', body).group(1)
    assert re.search(r'"/static/offline\.[0-9a-f]{12}\.js"', body) and '"/offline"' in body
    assert client.get("/sw.js").get_data(as_text=True).count(version) == 1


def test_the_manifest_makes_the_app_installable(client):
    response = client.get("/manifest.webmanifest", headers={"Accept-Language": "en"})
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200
    assert '<link rel="manifest" href="/manifest.webmanifest">' in \
        client.get("/login").get_data(as_text=True)


def test_pages_name_the_service_worker_only_when_signed_in(client, login_as):
    assert "data-service-worker" not in client.get("/login").get_data(as_text=True)
    html = login_as("rep").get("/").get_data(as_text=True)
    assert 'data-service-worker="/sw.js"' in html
    assert "data-waiting" in html and "data-when-offline" in html


def test_offline_pages_load_their_script_instead_of_htmx_within_the_budget(world, login_as):
    rep = login_as("rep")
    pages = {"/": None, f"/customers/{world.customers.rep}/follow-ups/new": None,
             f"/follow-ups/{world.ride_along}/recordings/new": None, "/offline": None}
    for url in pages:
        scripts = _scripts(rep.get(url).get_data(as_text=True))
        assert scripts == ["app.js", "offline.js"], url
        assert _gzipped(scripts) < BUDGET
    # Every other page keeps htmx and app.js, also within the budget.
    assert _scripts(rep.get(f"/customers/{world.customers.rep}").get_data(as_text=True)) == \
        ["htmx.min.js", "app.js"]
    assert _gzipped(["htmx.min.js", "app.js"]) < BUDGET


def test_the_waiting_page_and_today_carry_the_waiting_list(world, login_as):
    rep = login_as("rep")
    for url in ("/offline", "/"):
        html = rep.get(url).get_data(as_text=True)
        assert "data-waiting-list" in html and "data-outbox-items" in html
    assert "data-needs-server" in rep.get("/offline").get_data(as_text=True)


def test_the_log_form_answers_a_script_with_the_resumable_upload_address(app, world, login_as):
    rep = login_as("rep")
    form = {"kind": "visit", "occurred_at": "2026-01-05T10:30", "summary": "离线保存后发送",
            "submission_key": "k" * 32}
    first = rep.post_form(f"/customers/{world.customers.rep}/follow-ups", form,
                          headers={"Accept": "application/json"})
    assert first.status_code == 201
    saved = first.get_json()
    assert re.fullmatch(r"/follow-ups/\d+/uploads", saved["uploads"])
    again = rep.post_form(f"/customers/{world.customers.rep}/follow-ups", form,
                          headers={"Accept": "application/json"})
    assert again.status_code == 201 and again.get_json()["uploads"] == saved["uploads"]
    with app.app_context():
        assert len(db.session.scalars(select(FollowUp).where(
            FollowUp.summary == "离线保存后发送")).all()) == 1


def test_the_log_form_puts_the_record_control_first(world, login_as):
    html = login_as("rep").get(f"/customers/{world.customers.rep}/follow-ups/new") \
        .get_data(as_text=True)
    assert html.index("data-recording-picker") < html.index('name="summary"')
    assert html.index("data-check-in") < html.index('name="summary"')
    card = login_as("rep").get(f"/customers/{world.customers.rep}").get_data(as_text=True)
    assert f"/customers/{world.customers.rep}/follow-ups/new?record=1" in card


def test_today_starts_a_visit_with_the_recorder_in_one_tap_per_customer(world, login_as):
    rep = login_as("rep")
    today = rep.get("/").get_data(as_text=True)
    assert 'href="/follow-ups/new?record=1"' in today
    pick = rep.get("/follow-ups/new?record=1").get_data(as_text=True)
    assert f"/customers/{world.customers.rep}/follow-ups/new?record=1" in pick
    assert 'name="record" value="1"' in pick
    plain = rep.get("/follow-ups/new").get_data(as_text=True)
    assert "record=1" not in plain
