"""A visit logged on a dead network loses nothing (issue 13), on a phone-sized Chromium:
the log form from the service worker with no network, the IndexedDB outbox sent once, a
resumable upload cut half way or stalled, and a recording kept when its tab closes."""

import hashlib
import os
import time
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from crm.customers.models import Customer
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.recordings.models import Recording
from crm.recordings.samples import write_sample
from tests.conftest import PASSWORD
from tests.e2e.conftest import ARTIFACTS, VIEWPORTS

pytestmark = [pytest.mark.parametrize("viewport", ["phone"], indirect=True),
              pytest.mark.committed]

DEADLINE = 30_000  # ms: a busy two-core machine


def _wait_until(check, seconds: float = 30.0, every: float = 0.2):
    """Poll a condition (the database, the page) until it holds or the deadline passes."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(every)


def _follow_ups(app, summary: str) -> list[FollowUp]:
    with app.app_context():
        return db.session.scalars(select(FollowUp).where(FollowUp.summary == summary)).all()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"), full_page=True)


def _cached(page, path: str) -> bool:
    return page.evaluate("p => caches.match(p).then(r => !!r)", path)


def _give_consent(app, customer_id: int) -> None:
    with app.app_context():
        db.session.get(Customer, customer_id).recording_consent = True
        db.session.commit()


def test_a_visit_logged_offline_waits_and_is_saved_once(app, phone, live_server, world):
    page = phone
    form_path = f"/customers/{world.customers.rep}/follow-ups/new"
    page.goto(live_server + form_path)
    assert page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now under the worker, which keeps the form as it passes
    _wait_until(lambda: page.evaluate("() => navigator.serviceWorker.controller !== null"))
    _wait_until(lambda: _cached(page, form_path))

    page.context.set_offline(True)
    page.reload()  # from the phone's cache
    expect(page.locator("[data-when-offline]")).to_be_visible()
    summary = "地下车库里拜访，没有信号"
    page.fill("#summary", summary)
    page.fill("#next_step", "周五送样品")
    page.click("button:has-text('保存跟进')")
    expect(page.locator("[data-saved-offline]")).to_be_visible()
    expect(page.locator(".topbar [data-waiting-count]")).to_have_text("1")
    _shot(page, "offline-saved-on-the-phone")

    page.reload()  # still offline: still waiting, nothing reached the server
    expect(page.locator(".topbar [data-waiting-count]")).to_have_text("1")
    assert _follow_ups(app, summary) == []
    # A page the worker does not keep says plainly that it needs the server.
    page.goto(f"{live_server}/pipeline")
    expect(page.locator("[data-needs-server]")).to_be_visible()
    expect(page.locator("[data-outbox-items] li")).to_have_count(1)
    _shot(page, "offline-needs-the-server")

    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    saved = _wait_until(lambda: _follow_ups(app, summary))
    expect(page.locator("[data-outbox-items] li")).to_have_count(0, timeout=DEADLINE)
    assert len(saved) == 1 and saved[0].next_step == "周五送样品"
    # The same item sent again (a second tab, a lost answer) saves nothing more.
    key = saved[0].submission_key
    page.evaluate("""([key, url, summary]) => window.crmOffline.put('outbox', {key: key, url: url,
        at: Date.now(), label: 'again', fields: [['csrf_token',
        document.querySelector('meta[name=csrf-token]').content], ['submission_key', key],
        ['kind', 'visit'], ['occurred_at', '2026-01-05T10:30'], ['summary', summary]]})
        .then(() => window.crmOffline.flush())""",
                  [key, f"/customers/{world.customers.rep}/follow-ups", summary])
    expect(page.locator("[data-outbox-items] li")).to_have_count(0, timeout=DEADLINE)
    assert len(_follow_ups(app, summary)) == 1


NETWORK_ERRORS = ("ERR_INTERNET_DISCONNECTED", "ERR_CONNECTION_RESET", "ERR_FAILED",
                  "status of 409", "status of 415", "status of 422")


@pytest.fixture
def phone(browser, live_server, world, viewport):
    """A phone page whose dropped requests (the point of these tests) are not script errors;
    an error thrown by a script still fails the test."""
    context = browser.new_context(viewport=VIEWPORTS["phone"], locale="zh-CN", is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: m.type == "error" and not any(
        e in m.text for e in NETWORK_ERRORS) and errors.append(m.text))
    page.goto(f"{live_server}/login")
    page.fill("#email", world.rep.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator(".topbar h1")).to_have_text("今日")
    yield page
    context.close()
    assert errors == [], f"browser errors: {errors}"


@pytest.fixture
def quiet_page(browser, live_server, world, viewport):
    """A phone page without the service worker, so that route interception sees every
    request the page makes (the worker never touches uploads anyway)."""
    context = browser.new_context(viewport=VIEWPORTS["phone"], locale="zh-CN", is_mobile=True,
                                  has_touch=True, service_workers="block")
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.fill("#email", world.rep.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator(".topbar h1")).to_have_text("今日")
    yield page
    context.close()


def _big_recording(tmp_path, megabytes: int = 5):
    """Real audio at the start (the server checks the first bytes), padded to the size."""
    head = write_sample(tmp_path / "head.ogg", "ogg", seconds=1.0).read_bytes()
    path = tmp_path / "长拜访.ogg"
    path.write_bytes(head + os.urandom(megabytes * 1024 * 1024 - len(head)))
    return path


def _recording_of(app, follow_up_id: int) -> list[Recording]:
    with app.app_context():
        return db.session.scalars(select(Recording).where(
            Recording.follow_up_id == follow_up_id)).all()


def test_an_upload_cut_half_way_resumes_from_there(app, quiet_page, live_server, world,
                                                    tmp_path):
    page = quiet_page
    audio = _big_recording(tmp_path)
    size = audio.stat().st_size
    pieces = []  # (offset, bytes) of every piece the page sent, delivered or not
    cut = {"at": None}

    def pieces_route(route):
        offset = int(parse_qs(urlparse(route.request.url).query)["offset"][0])
        length = len(route.request.post_data_buffer or b"")
        pieces.append((offset, length))
        if cut["at"] is None and offset >= size // 2:
            cut["at"] = offset
            route.abort("connectionreset")  # the connection drops: this piece is lost
            return
        route.continue_()

    page.route("**/uploads/*/chunks*", pieces_route)
    page.goto(f"{live_server}/follow-ups/{world.ride_along}/recordings/new")
    page.set_input_files("#audio", str(audio))
    page.check("#consent")
    page.click("button:has-text('上传录音')")
    page.wait_for_url(f"**/customers/{world.customers.rep}#follow-up-{world.ride_along}",
                      timeout=120_000)

    assert cut["at"] is not None and cut["at"] >= size // 2
    after = [offset for offset, _length in pieces if offset >= cut["at"]]
    assert after[0] == cut["at"] and after[1] == cut["at"]  # resumed from there, not zero
    assert all(offset >= cut["at"] for offset, _length in pieces[len(pieces) - len(after):])
    total = sum(length for _offset, length in pieces)
    assert total <= 1.6 * size, f"{total} bytes sent for {size}"
    new = [r for r in _recording_of(app, world.ride_along)]
    assert len(new) == 1
    assert new[0].original_sha256 == hashlib.sha256(audio.read_bytes()).hexdigest()
    print(f"\nresumed upload: {total} bytes sent for {size} ({total / size:.3f}×), "
          f"{total - size} extra")


def test_a_stalled_upload_is_noticed_and_resumes(app, quiet_page, live_server, world, tmp_path):
    page = quiet_page
    audio = _big_recording(tmp_path, megabytes=2)
    state = {"stall": False, "since": None, "held": []}

    def pieces_route(route):
        offset = int(parse_qs(urlparse(route.request.url).query)["offset"][0])
        if offset > 0 and state["since"] is None:
            state["stall"] = True  # throughput drops to zero, the connection stays open
            state["since"] = time.monotonic()
        if state["stall"]:
            state["held"].append(route)  # never answered
            return
        route.continue_()

    page.route("**/uploads/*/chunks*", pieces_route)
    page.goto(f"{live_server}/follow-ups/{world.ride_along}/recordings/new")
    page.set_input_files("#audio", str(audio))
    page.check("#consent")
    page.click("button:has-text('上传录音')")
    expect(page.locator("[data-upload-error]")).to_contain_text("上传停滞", timeout=40_000)
    noticed = time.monotonic() - state["since"]
    assert noticed <= 20, f"the stall was noticed after {noticed:.1f} s"
    state["stall"] = False  # the network is back
    page.wait_for_url(f"**/customers/{world.customers.rep}#follow-up-{world.ride_along}",
                      timeout=90_000)
    new = _recording_of(app, world.ride_along)
    assert len(new) == 1
    assert new[0].original_sha256 == hashlib.sha256(audio.read_bytes()).hexdigest()
    for route in state["held"]:
        try:
            route.abort()
        except Exception:  # noqa: BLE001 - the page gave up on it already
            pass


def test_a_recording_survives_its_tab_closing(app, phone, live_server, world):
    page = phone
    _give_consent(app, world.customers.rep)
    context = page.context
    # One tap from the card: the log form opens with the recorder running.
    page.goto(f"{live_server}/customers/{world.customers.rep}")
    page.click("[data-record-visit]")
    expect(page.locator("[data-recorder-toggle]")).to_contain_text("停止录音")
    page.fill("#summary", "录音时关掉了页面")
    _wait_until(lambda: page.evaluate(
        """() => window.crmOffline.store('chunks').then(s => new Promise(ok => {
             const r = s.count(); r.onsuccess = () => ok(r.result >= 3); }))"""))
    # Leaving asks first while audio is not sent; the rep leaves anyway (or the tab dies).
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
    with page.expect_event("close", timeout=DEADLINE):
        page.close(run_before_unload=True)
    assert asked == ["beforeunload"]

    again = context.new_page()
    again.goto(f"{live_server}/customers/{world.customers.rep}/follow-ups/new")
    offer = again.locator("[data-unsent-offer]")
    expect(offer).to_be_visible()
    expect(again.locator("#summary")).to_have_value("录音时关掉了页面")
    _shot(again, "offline-recording-offered")
    again.click("[data-unsent-use]")
    again.click("button:has-text('保存跟进')")
    again.wait_for_url(f"**/customers/{world.customers.rep}#follow-up-*", timeout=60_000)
    saved = _follow_ups(app, "录音时关掉了页面")
    assert len(saved) == 1
    recordings = _recording_of(app, saved[0].id)
    assert len(recordings) == 1 and recordings[0].original_type == "audio/webm"
    # Sent, so it no longer waits on the phone.
    assert again.evaluate("window.crmOffline.all('recordings').then(r => r.length)") == 0


def test_check_in_near_and_far_from_the_customer(app, phone, live_server, world):
    from crm.checkins.models import CheckIn, CustomerLocation

    page = phone
    with app.app_context():
        db.session.add(CustomerLocation(customer_id=world.customers.rep, latitude=31.2304,
                                        longitude=121.4737, set_by_id=world.rep.id))
        db.session.commit()
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 31.2310, "longitude": 121.4740, "accuracy": 12})
    page.goto(f"{live_server}/customers/{world.customers.rep}/follow-ups/new")
    holder = page.locator("[data-check-in]")
    status = holder.locator("[data-check-in-status]")
    expect(holder.locator("[data-set-location]")).to_be_hidden()  # the customer has one
    holder.locator("[data-check-in-button]").click()
    expect(status).to_contain_text("已签到")
    expect(status).to_contain_text("距离客户")
    expect(holder).not_to_have_class("check-in flagged")

    page.context.set_geolocation({"latitude": 31.2450, "longitude": 121.4737, "accuracy": 12})
    holder.locator("[data-check-in-button]").click()
    expect(status).to_contain_text("离客户较远")
    expect(holder).to_have_class("check-in flagged")
    _shot(page, "offline-check-in-far")
    holder.locator("[data-check-out]").click()
    expect(status).to_contain_text("已签退")
    with app.app_context():
        entries = db.session.scalars(select(CheckIn).order_by(CheckIn.id)).all()
        assert [e.far for e in entries] == [False, True]
        assert entries[1].checked_out_at is not None and entries[0].checked_out_at is None
    # Location is never needed to save the visit.
    page.fill("#summary", "签到后记录拜访")
    page.click("button:has-text('保存跟进')")
    page.wait_for_url(f"**/customers/{world.customers.rep}#follow-up-*", timeout=DEADLINE)
