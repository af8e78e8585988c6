"""Delivery: the digest through a real SMTP server (aiosmtpd), work-chat robots through a
local HTTP server, signatures, retries with backoff, and a failing receiver sent to once."""

import base64
import hashlib
import hmac
import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from crm.accounts.models import Team, User
from crm.clock import utcnow
from crm.extensions import db
from crm.notifications.models import Notification
from crm.reminders import delivery, jobs, sweeps
from crm.reminders.models import Delivery, DeliveryStatus, ReminderPreference


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope)
        return "250 OK"


SMTP_PORT = _free_port()


@pytest.fixture(scope="module")
def smtp():
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def app_config():
    return {"SMTP_URL": f"smtp://127.0.0.1:{SMTP_PORT}", "MAIL_FROM": "crm@example.test"}


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        status = server.statuses.pop(0) if server.statuses else 200
        server.requests.append((self.path, json.loads(body), status))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"errcode": 0, "errmsg": "ok"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.requests, server.statuses = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _notify_rep(world, kind="followup_due"):
    db.session.add(Notification(user_id=world.rep.id, kind=kind, dedupe_key=f"d:{kind}",
                                link=f"/customers/{world.customers.rep}",
                                customer_id=world.customers.rep,
                                params={"due": utcnow().date().isoformat()}))
    db.session.commit()


def test_the_digest_goes_through_smtp_in_the_users_language(app, world, smtp):
    smtp.messages.clear()
    with app.app_context():
        _notify_rep(world)
        assert jobs.digest_now("rep@example.test") == "sent"
    [envelope] = smtp.messages
    assert envelope.rcpt_tos == ["rep@example.test"]
    text = envelope.content.decode()
    assert "Subject: =?utf-8?" in text  # Chinese subject, encoded
    from email import message_from_bytes
    body = message_from_bytes(envelope.content).get_payload(decode=True).decode()
    assert "张三" in body and "今天" in body
    with app.app_context():
        db.session.execute(update(User).where(User.id == world.rep.id).values(locale="en"))
        db.session.commit()
        # Nothing new since the last digest: nothing is sent.
        assert jobs.digest_now("rep@example.test") == "empty"
        db.session.add(Notification(user_id=world.rep.id, kind="birthday", dedupe_key="d:b",
                                    customer_id=world.customers.rep,
                                    params={"on": "2027-01-02"}))
        db.session.commit()
        assert jobs.digest_now("rep@example.test") == "sent"
    assert "Your reminders for today" in smtp.messages[-1].content.decode()


def test_digests_are_planned_once_a_day_at_the_chosen_time(app, world):
    with app.app_context():
        # 23:30 UTC is 07:30 in Shanghai: before the default 08:00.
        early = sweeps.calendar(utcnow().replace(hour=23, minute=30))
        assert delivery.plan_digests(early) == 0
        db.session.add(ReminderPreference(user_id=world.rep.id, digest_minute=7 * 60,
                                          digest_enabled=True, quiet_days="",
                                          digest_off_kinds=""))
        db.session.flush()
        assert delivery.plan_digests(early) == 1
        assert delivery.plan_digests(early) == 0
        later = sweeps.calendar(utcnow().replace(hour=1, minute=0))  # 09:00 in Shanghai
        assert delivery.plan_digests(later) >= 8  # everyone else with an e-mail
        weekday = later.now.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
        db.session.execute(update(ReminderPreference).values(
            quiet_days=str(weekday.isoweekday())))
        db.session.execute(Delivery.__table__.delete())
        planned = delivery.plan_digests(later)
        assert db.session.scalar(select(Delivery.id).where(
            Delivery.user_id == world.rep.id)) is None
        assert planned >= 8


def test_no_digest_without_smtp(app, world):
    app.config["SMTP_URL"] = ""
    with app.app_context():
        later = sweeps.calendar(utcnow().replace(hour=1, minute=0))
        assert delivery.plan_digests(later) == 0


def _robot(world, receiver, channel, secret="SEC-test-123"):
    url = f"http://127.0.0.1:{receiver.server_address[1]}/robot/send?access_token=abc"
    db.session.execute(update(Team).where(Team.id == world.teams.sh1).values(
        chat_channel=channel, chat_webhook_url=url, chat_secret=secret))
    db.session.commit()


def _drought(world):
    from crm.pipeline.models import Deal, DealEvent

    long_ago = utcnow() - timedelta(days=10)
    db.session.execute(update(Team).values(created_at=long_ago))
    db.session.execute(update(Deal).values(created_at=long_ago))
    db.session.execute(update(DealEvent).values(at=long_ago))
    cal = sweeps.calendar()
    sweeps.a_drought(cal)
    made = sweeps.chat_alerts(cal)
    db.session.commit()
    return made


def test_a_failing_receiver_gets_exactly_one_message_signed(app, world, receiver):
    with app.app_context():
        _robot(world, receiver, "dingtalk")
        made = _drought(world)
        assert made >= 1
        assert sweeps.chat_alerts(sweeps.calendar()) == 0  # planned once
        sh1 = db.session.scalar(select(Delivery).where(Delivery.team_id == world.teams.sh1))
        receiver.statuses = [500]
        now = utcnow()
        assert jobs.deliver(now=now)["failed"] >= 1
        db.session.refresh(sh1)
        assert sh1.status == DeliveryStatus.PENDING and sh1.attempts == 1
        assert sh1.last_error == "HTTP 500"
        assert "access_token" not in sh1.last_error
        # Not before its backoff...
        assert jobs.deliver(now=now + timedelta(seconds=30)) == {"sent": 0, "failed": 0,
                                                                 "empty": 0}
        # ...then once, and never again.
        assert jobs.deliver(now=now + timedelta(minutes=2))["sent"] >= 1
        assert jobs.deliver(now=now + timedelta(minutes=30))["sent"] == 0
        db.session.refresh(sh1)
        assert sh1.status == DeliveryStatus.SENT and sh1.attempts == 2
    delivered = [r for r in receiver.requests if r[2] == 200]
    assert len(delivered) == len([r for r in receiver.requests if r[2] == 500]) == 1
    path, body, _status = delivered[0]
    assert body["msgtype"] == "text" and "没有新增A级商机" in body["text"]["content"]
    query = parse_qs(urlsplit(path).query)
    timestamp, sign = query["timestamp"][0], query["sign"][0]
    expected = base64.b64encode(hmac.new(b"SEC-test-123", f"{timestamp}\nSEC-test-123".encode(),
                                         hashlib.sha256).digest()).decode()
    assert sign == expected


def test_the_test_message_button_signs_for_feishu(app, world, receiver, login_as):
    with app.app_context():
        _robot(world, receiver, "feishu")
    admin = login_as("admin")
    response = admin.post_form(f"/teams/{world.teams.sh1}/chat-test")
    assert response.status_code == 303
    [(_path, body, _status)] = receiver.requests
    assert body["msg_type"] == "text" and "Shanghai 1" in body["content"]["text"]
    string_to_sign = f"{body['timestamp']}\nSEC-test-123".encode()
    assert body["sign"] == base64.b64encode(
        hmac.new(string_to_sign, b"", hashlib.sha256).digest()).decode()


def test_wecom_payload_and_a_refusing_robot(app, world, receiver, login_as):
    with app.app_context():
        _robot(world, receiver, "wecom", secret=None)
    receiver.statuses = [403]
    admin = login_as("admin")
    refused = admin.post_form(f"/teams/{world.teams.sh1}/chat-test")
    assert refused.status_code == 303
    page = admin.get(refused.headers["Location"]).get_data(as_text=True)
    assert "HTTP 403" in page and "access_token" not in page
    admin.post_form(f"/teams/{world.teams.sh1}/chat-test")
    assert receiver.requests[-1][1] == {"msgtype": "text", "text": {
        "content": receiver.requests[-1][1]["text"]["content"]}}


def test_failed_deliveries_show_on_the_system_page(app, world, receiver, login_as):
    with app.app_context():
        _robot(world, receiver, "wecom", secret=None)
        _drought(world)
        receiver.statuses = [500] * 10
        jobs.deliver()
    page = login_as("admin").get("/system").get_data(as_text=True)
    assert 'id="deliveries"' in page and "HTTP 500" in page


def test_the_team_form_keeps_the_robot_secret(app, world, login_as):
    admin = login_as("admin")
    data = {"name": "Shanghai 1", "parent_id": str(world.teams.east), "protection_days": "30",
            "holding_limit": "200", "expiry_warning_days": "3", "drought_days": "4",
            "revisit_days": "7, 30，90", "chat_channel": "dingtalk",
            "chat_webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=SECRET1",
            "chat_secret": "SECsecret"}
    assert admin.post_form(f"/admin/teams/{world.teams.sh1}", data).status_code == 303
    page = admin.get(f"/admin/teams/{world.teams.sh1}/edit").get_data(as_text=True)
    assert "SECRET1" not in page and "SECsecret" not in page
    assert "chat-test" in page  # the "send a test message" button
    # Saved again with the address and secret left empty: both are kept.
    data.update(chat_webhook_url="", chat_secret="")
    assert admin.post_form(f"/admin/teams/{world.teams.sh1}", data).status_code == 303
    with app.app_context():
        team = db.session.get(Team, world.teams.sh1)
        assert team.chat_webhook_url.endswith("SECRET1") and team.chat_secret == "SECsecret"
        assert team.drought_days == 4 and team.revisit_days == "7,30,90"
    data.update(chat_channel="")
    admin.post_form(f"/admin/teams/{world.teams.sh1}", data)
    with app.app_context():
        assert db.session.get(Team, world.teams.sh1).chat_webhook_url is None
    bad = admin.post_form(f"/admin/teams/{world.teams.sh1}", {**data, "revisit_days": "7;x"})
    assert bad.status_code == 422


def test_the_digest_leaves_out_kinds_the_user_turned_off(app, world, smtp, login_as):
    smtp.messages.clear()
    rep = login_as("rep")
    kinds = ["followup_due"]  # birthdays left out
    assert rep.post_form("/notifications/preferences", {
        "digest_enabled": "y", "digest_time": "07:00", "digest_kinds": kinds,
        "quiet_days": ["6", "7"], "version": "0"}).status_code == 303
    with app.app_context():
        db.session.add(Notification(user_id=world.rep.id, kind="birthday", dedupe_key="d:b2",
                                    customer_id=world.customers.rep2,
                                    params={"on": "2027-01-02"}))
        db.session.commit()
        assert jobs.digest_now("rep@example.test") == "empty"
        _notify_rep(world)
        assert jobs.digest_now("rep@example.test") == "sent"
        saved = db.session.get(ReminderPreference, world.rep.id)
        assert saved.digest_minute == 7 * 60 and saved.quiet_days == "6,7"
    page = rep.get("/notifications/preferences").get_data(as_text=True)
    assert 'value="07:00"' in page
