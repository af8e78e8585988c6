"""Data subjects' rights: the register, a customer's data as a ZIP, erasure, legal holds,
consent withdrawal, retention; and the audit rows each of them writes."""

import io
import json
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text, update

from crm.audit.models import AuditAction, AuditEvent
from crm.clock import utcnow
from crm.customers.models import Customer
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.privacy.models import DataExport, DataRequest, LegalHold, RetentionSettings
from crm.recordings.models import Recording, RecordingStatus
from crm.reviews.models import ReviewComment, ReviewScore
from crm.storage import audio_store
from tests.conftest import count_queries

EN = {"Accept-Language": "en"}


def _register(client, customer_id, kind="access") -> int:
    response = client.post_form("/admin/data-requests", {
        "kind": kind, "customer_id": str(customer_id),
        "received_on": date.today().isoformat(), "due_on": ""})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _events(app, action):
    with app.app_context():
        return db.session.execute(
            select(AuditEvent.actor_id, AuditEvent.customer_id, AuditEvent.detail)
            .where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


# The register ----------------------------------------------------------------------------

def test_office_registers_a_request_with_a_due_date(app, world, login_as):
    office = login_as("office")
    request_id = _register(office, world.customers.rep, "deletion")
    with app.app_context():
        row = db.session.get(DataRequest, request_id)
        assert row.due_on == row.received_on + timedelta(days=15)
        assert row.status == "open" and row.handler_id == world.office.id
    page = office.get("/admin/data-requests", headers=EN).get_data(as_text=True)
    assert "Deletion" in page and "张三" in page
    assert _events(app, AuditAction.REQUEST)[-1][:2] == (world.office.id, world.customers.rep)


def test_a_request_is_closed_only_with_an_outcome(app, world, login_as):
    office = login_as("office")
    request_id = _register(office, world.customers.rep)
    form = {"status": "done", "handler_id": str(world.office.id), "outcome": "", "version": "1"}
    refused = office.post_form(f"/admin/data-requests/{request_id}", form, headers=EN)
    assert refused.status_code == 422
    assert "Say how the request was answered" in refused.get_data(as_text=True)
    form["outcome"] = "Copy sent by e-mail"
    assert office.post_form(f"/admin/data-requests/{request_id}", form).status_code == 303
    with app.app_context():
        assert db.session.get(DataRequest, request_id).closed_at is not None


def test_bad_customer_number_is_kept_with_an_error(world, login_as):
    office = login_as("office")
    response = office.post_form("/admin/data-requests", {
        "kind": "access", "customer_id": "999999", "received_on": date.today().isoformat()},
        headers=EN)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "No customer has this number" in html and 'value="999999"' in html


# Export ----------------------------------------------------------------------------------

def _export(app, client, request_id) -> str:
    """Ask for an export, run the worker's job, return the download link's path."""
    from crm.privacy.jobs import build_data_export

    assert client.post_form(f"/admin/data-requests/{request_id}/export").status_code == 303
    with app.app_context():
        export_id = db.session.scalar(select(DataExport.id).where(
            DataExport.request_id == request_id).order_by(DataExport.id.desc()))
        build_data_export(export_id)
        build_data_export(export_id)  # safe to run twice
        return "/admin/data-exports/" + db.session.get(DataExport, export_id).token


# What other areas keep of 张三 (world.customers.rep): every table that holds it.
AREA_TEXTS = {
    "feedback": "张三投诉送货慢", "resolution": "已向张三道歉并补发",
    "valuable_note": "张三建议改包装", "event_note": "给张三回电 13800138000",
    "survey_comment": "张三评价：服务一般", "gift": "张三生日茶叶",
    "task_title": "给张三打电话", "task_note": "张三要报价", "deal_task": "跟进张三的合同",
}
LATITUDE, LONGITUDE = 31.2345678, 121.4567891


def _area_data(app, world) -> dict:
    """张三's data in voice, reminders, check-ins, routing, revisits and an import preview;
    returns the ids the tests look at."""
    import zlib

    from crm.checkins.models import CheckIn, CustomerLocation
    from crm.customers.models import ImportPreview, OwnershipChange, OwnershipEvent
    from crm.followups.models import Revisit
    from crm.notifications.models import Notification, NotificationKind
    from crm.reminders.models import Channel as ChatChannel
    from crm.reminders.models import Delivery, Task
    from crm.routing.models import CustomerFit
    from crm.voice.models import (
        CareGesture,
        Channel,
        Feedback,
        FeedbackEvent,
        FeedbackKind,
        GestureKind,
        Occasion,
        Survey,
        SurveyReason,
        SurveyScale,
    )

    t = AREA_TEXTS
    with app.app_context():
        cid, rep, manager = world.customers.rep, world.rep.id, world.manager.id
        now, today = utcnow(), date.today()
        feedback = Feedback(customer_id=cid, kind=FeedbackKind.COMPLAINT, channel=Channel.PHONE,
                            summary=t["feedback"], resolution=t["resolution"], assignee_id=rep,
                            due_at=now, valuable=True, valuable_note=t["valuable_note"],
                            created_by_id=rep)
        db.session.add(feedback)
        db.session.flush()
        task = Task(title=t["task_title"], note=t["task_note"], assignee_id=rep,
                    created_by_id=manager, customer_id=cid, due_on=today)
        deal_task = Task(title=t["deal_task"], assignee_id=rep, created_by_id=manager,
                         deal_id=world.deal, due_on=today)
        db.session.add_all([task, deal_task])
        db.session.flush()
        day = today.isoformat()
        db.session.add_all([
            FeedbackEvent(feedback_id=feedback.id, customer_id=cid, field="resolution",
                          from_value=t["resolution"], note=t["event_note"], by_user_id=rep),
            Survey(customer_id=cid, rep_id=rep, scale=SurveyScale.STARS,
                   reason=SurveyReason.OTHER, nonce=f"test-{cid}", expires_at=now,
                   answered_at=now, score=2, comment=t["survey_comment"]),
            CareGesture(customer_id=cid, kind=GestureKind.GIFT, occasion=Occasion.BIRTHDAY,
                        what=t["gift"], given_on=today, by_user_id=rep),
            # A batch of unrouted leads names its first; a task's notification its title.
            Notification(user_id=manager, kind=NotificationKind.LEAD_UNROUTED,
                         dedupe_key=f"lead_unrouted:{cid}:{manager}:2",
                         link="/customers?tab=pool",
                         params={"name": "张三", "count": 2, "team": "Shanghai 1"}),
            Notification(user_id=rep, kind=NotificationKind.TASK_ASSIGNED,
                         dedupe_key=f"task_assigned:{deal_task.id}:{rep}:new",
                         link=f"/tasks/{deal_task.id}",
                         params={"person": "经理", "title": t["deal_task"]}),
            Delivery(channel=ChatChannel.WECOM, team_id=world.teams.sh1, kind="lead_unrouted",
                     dedupe_key=f"chat:{world.teams.sh1}:lead_unrouted:/customers?tab=pool:{day}",
                     params={"name": "张三", "count": 2, "team": "Shanghai 1"}),
            Delivery(channel=ChatChannel.WECOM, team_id=world.teams.sh1, kind="task_escalated",
                     dedupe_key=f"chat:{world.teams.sh1}:task_escalated:/tasks/{task.id}:{day}",
                     params={"person": "小王", "due": day}),
            CheckIn(customer_id=cid, user_id=rep, latitude=LATITUDE, longitude=LONGITUDE,
                    accuracy_m=12.5, distance_m=30.0),
            CustomerLocation(customer_id=cid, latitude=LATITUDE, longitude=LONGITUDE,
                             set_by_id=rep),
            OwnershipEvent(customer_id=cid, kind=OwnershipChange.ROUTE, to_user_id=rep,
                           routing={"because": "fewest", "by": "customers", "rule_id": None,
                                    "rule": "华东制造", "candidates": [
                                        {"id": rep, "name": "rep", "load": 3,
                                         "status": "chosen"}]}),
            Revisit(customer_id=cid, reason="won_deal", due_on=today, plan_key=f"test:{cid}"),
            CustomerFit(team_id=world.teams.hz, customer_id=cid, score=87),
        ])
        preview = {"token": "p" * 32, "user_id": manager, "owner_id": None,
                   "filename": "leads.xlsx", "ignored_columns": [], "header": [], "totals": [],
                   "rows": [
                       {"values": {"name": "张三", "organisation": "华东机械",
                                   "phone": "13800138000"},
                        "phone_normalized": "+8613800138000", "tags": [], "errors": [],
                        "duplicate": {"kind": "db", "name": "张三", "owner": "rep"},
                        "status": "duplicate", "line": 2,
                        "cells": ["张三", "华东机械", "13800138000"]},
                       {"values": {"name": "周八", "phone": "13600136000"},
                        "phone_normalized": "+8613600136000", "tags": [], "errors": [],
                        "duplicate": None, "status": "ok", "line": 3}]}
        db.session.add(ImportPreview(
            token=preview["token"], user_id=manager, expires_at=now + timedelta(hours=1),
            payload=zlib.compress(json.dumps(preview, ensure_ascii=False).encode())))
        db.session.commit()
        return {"task": task.id, "deal_task": deal_task.id, "preview": preview["token"]}


@pytest.mark.recording
def test_export_holds_every_piece_of_the_customer_and_nothing_of_another(app, world,
                                                                          login_as):
    _area_data(app, world)
    office = login_as("office")
    request_id = _register(office, world.customers.rep)
    link = _export(app, office, request_id)
    assert 'hx-trigger="every' not in office.get(f"/admin/data-requests/{request_id}/exports",
                                                 headers={"HX-Request": "true"}).get_data(
        as_text=True)
    response = office.get(link)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    assert {"data.json", "csv/profile.csv", "csv/contacts.csv", "csv/follow_ups.csv",
            "csv/deals.csv", "csv/recordings.csv"} <= names
    data = json.loads(archive.read("data.json"))
    assert data["profile"][0]["name"] == "张三"
    assert data["profile"][0]["phone_normalized"] == "+8613800138000"
    assert data["profile"][0]["tags"] == "制造业"
    assert [c["name"] for c in data["contacts"]] == ["陈经理"]
    assert [f["summary"] for f in data["follow_ups"]] == ["初次拜访"]
    assert [d["title"] for d in data["deals"]] == ["年度设备采购"]
    with app.app_context():
        recording = db.session.get(Recording, world.recording)
        original = audio_store().path_for(recording.original_sha256).read_bytes()
    audio = [n for n in names if n.startswith("audio/")]
    assert audio == [f"audio/recording-{world.recording}.wav"]
    assert archive.read(audio[0]) == original
    assert "陈经理" in archive.read("csv/contacts.csv").decode("utf-8-sig")
    # What the other areas keep of them, each in its section and its CSV.
    t = AREA_TEXTS
    assert [(f["summary"], f["resolution"], f["valuable_note"]) for f in data["feedback"]] == [
        (t["feedback"], t["resolution"], t["valuable_note"])]
    assert [e["note"] for e in data["feedback_history"]] == [t["event_note"]]
    assert [(s["score"], s["comment"]) for s in data["surveys"]] == [(2, t["survey_comment"])]
    assert "nonce" not in data["surveys"][0]
    assert [g["what"] for g in data["greetings_and_gifts"]] == [t["gift"]]
    assert {(k["title"], k["note"]) for k in data["tasks"]} == {
        (t["task_title"], t["task_note"]), (t["deal_task"], None)}
    assert {n["kind"] for n in data["notifications"]} >= {"lead_unrouted", "task_assigned"}
    assert {d["kind"] for d in data["chat_messages"]} == {"lead_unrouted", "task_escalated"}
    assert [(c["latitude"], c["longitude"]) for c in data["check_ins"]] == [
        (LATITUDE, LONGITUDE)]
    assert [(c["latitude"], c["longitude"]) for c in data["saved_location"]] == [
        (LATITUDE, LONGITUDE)]
    assert [f["score"] for f in data["customer_fit"]] == [87]
    assert any("华东制造" in e["explanation"] for e in data["routing_explanations"])
    assert [r["reason"] for r in data["revisits"]] == ["won_deal"]
    assert [(r["line"], r["name"], r["file"]) for r in data["import_previews"]] == [
        (2, "张三", "leads.xlsx")]
    for section in ("feedback", "feedback_history", "surveys", "greetings_and_gifts", "tasks",
                    "notifications", "chat_messages", "check_ins", "saved_location",
                    "customer_fit", "routing_explanations", "revisits", "import_previews"):
        assert f"csv/{section}.csv" in names, section
    assert t["survey_comment"] in archive.read("csv/surveys.csv").decode("utf-8-sig")
    everything = b"".join(archive.read(n) for n in names if not n.startswith("audio/"))
    for other in ("李四", "王五", "赵六", "孙七", "13900139000", "13700137000", "门店收银系统",
                  "周八", "13600136000"):
        assert other.encode() not in everything
    # Audited: asked for and downloaded, by whom, for which customer.
    steps = [(actor, customer, detail["step"])
             for actor, customer, detail in _events(app, AuditAction.DATA_EXPORT)]
    assert steps == [(world.office.id, world.customers.rep, "requested"),
                     (world.office.id, world.customers.rep, "downloaded")]


def test_the_download_link_expires_and_is_the_handlers_only(app, world, login_as):
    office = login_as("office")
    request_id = _register(office, world.customers.rep)
    link = _export(app, office, request_id)
    assert login_as("manager").get(link).status_code == 403
    assert login_as("admin").get(link).status_code == 200
    with app.app_context():
        db.session.execute(update(DataExport).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert office.get(link).status_code == 404


# Erasure ---------------------------------------------------------------------------------

def _db_text(app) -> str:
    """Every value of every row of every table, as text."""
    with app.app_context():
        parts = []
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(table.select()):
                parts.append(" ".join(str(value) for value in row))
        return "\n".join(parts)


SECRETS = ("张三", "13800138000", "8613800138000", "zhangsan_wx", "zs@example.cn",
           "陈经理", "13512340000", "华东机械", "人民路1号", "张三说价格太高")


@pytest.mark.committed
@pytest.mark.recording
def test_erasure_leaves_nothing_of_the_customer_but_keeps_a_shared_blob(app, world):
    from crm.followups.logging import log_follow_up
    from crm.followups.models import FollowUpKind
    from crm.recordings.attaching import attach_recording
    from crm.recordings.samples import write_sample
    from crm.reviews import reviewing
    from tests.conftest import same_audio_again

    review = world.review("draft")
    with app.app_context():
        customer = db.session.get(Customer, world.customers.rep)
        customer.wechat, customer.email, customer.address = (
            "zhangsan_wx", "zs@example.cn", "人民路1号")
        source = db.session.get(Recording, world.recording)
        # A recording only this customer has (its blob must go)…
        sample = write_sample(world.scratch / "unique.wav", "wav", seconds=1.0, seed=99)
        unique = attach_recording(source.follow_up, source.uploaded_by,
                                  audio_store().keep_path(sample), "audio/wav",
                                  consent_confirmed=True)
        # …and the same bytes as theirs on another customer's visit (that blob must stay).
        other_visit = log_follow_up(
            db.session.get(Customer, world.customers.rep2), source.uploaded_by,
            kind=FollowUpKind.CALL, occurred_at=utcnow(), summary="电话")
        db.session.commit()
        shared = same_audio_again(source, other_visit, source.uploaded_by)
        kept_sha, unique_sha = shared.original_sha256, unique.original_sha256
        from crm.reviews.models import Review
        from crm.reviews.rubric import ITEM_KEYS

        draft = db.session.get(Review, review.id)
        reviewing.set_score(draft, ITEM_KEYS[0], 4)
        reviewing.add_comment(draft, db.session.get(type(source.uploaded_by), world.manager.id),
                              at_seconds=0.2, kind="issue", body="张三说价格太高")
        db.session.commit()
        scores_before = db.session.scalar(select(db.func.count()).select_from(ReviewScore)
                                          .where(ReviewScore.review_id == review.id))
    assert scores_before > 0

    ids = _area_data(app, world)
    admin = app.test_client()
    admin.login(world.admin.email)
    request_id = _register(admin, world.customers.rep, "deletion")
    link = _export(app, admin, request_id)
    refused = admin.post_form(f"/admin/data-requests/{request_id}/erase",
                              {"confirm": "wrong", "reason": "客户要求删除"}, headers=EN)
    assert refused.status_code == 422
    assert "Type the customer number exactly" in refused.get_data(as_text=True)
    done = admin.post_form(f"/admin/data-requests/{request_id}/erase",
                           {"confirm": str(world.customers.rep), "reason": "客户要求删除"})
    assert done.status_code == 303

    everything = _db_text(app)
    for secret in SECRETS + tuple(AREA_TEXTS.values()) + (str(LATITUDE), str(LONGITUDE)):
        assert secret not in everything, secret
    _other_areas_erased(app, world, ids)
    with app.app_context():
        customer = db.session.get(Customer, world.customers.rep)
        assert customer.name == f"已删除客户 #{customer.id}" and customer.erased_at
        statuses = set(db.session.scalars(select(Recording.status).join(FollowUp).where(
            FollowUp.customer_id == customer.id)))
        assert statuses == {RecordingStatus.DELETED}
        assert db.session.scalar(select(db.func.count()).select_from(ReviewScore).where(
            ReviewScore.review_id == review.id)) == scores_before
        assert "张三说价格太高" not in set(db.session.scalars(select(ReviewComment.body)))
        assert db.session.scalar(select(db.func.count()).select_from(DataExport)) == 0
        store = audio_store()
        assert store.path_for(kept_sha).exists()  # rep2's recording still uses it
        assert not store.path_for(unique_sha).exists()
        erased = db.session.execute(select(AuditEvent.actor_id, AuditEvent.detail).where(
            AuditEvent.action == AuditAction.ERASE)).one()
        assert erased == (world.admin.id, {"reason": "客户要求删除"})
        database_file = None
        if db.engine.dialect.name == "sqlite":
            database_file = Path(db.engine.url.database)
    assert admin.get(link).status_code == 404
    # The store, byte for byte: no file holds the unique audio any more.
    unique_bytes = (world.scratch / "unique.wav").read_bytes()
    for path in Path(app.config["UPLOAD_FOLDER"]).rglob("*"):
        if path.is_file():
            assert path.read_bytes() != unique_bytes
    exports = Path(app.config["INSTANCE_DIR"]) / "exports"
    assert not list(exports.glob(f"customer-{world.customers.rep}-*.zip"))
    if database_file is not None:  # SQLite: the file itself, and its write-ahead log
        for path in (database_file, Path(f"{database_file}-wal")):
            if path.exists():
                raw = path.read_bytes()
                for secret in ("张三", "13800138000", "zhangsan_wx", "陈经理"):
                    assert secret.encode() not in raw, (path.name, secret)


def _other_areas_erased(app, world, ids):
    import zlib

    from crm.checkins.models import CheckIn, CustomerLocation
    from crm.customers.models import ImportPreview, OwnershipEvent
    from crm.notifications.models import Notification, NotificationKind
    from crm.reminders.models import Delivery, Task
    from crm.voice.models import Feedback, Survey

    with app.app_context():
        cid = world.customers.rep
        # Rows stay where counts and deadlines read them; their words and places go.
        assert db.session.scalar(select(Survey.score).where(Survey.customer_id == cid)) == 2
        assert db.session.scalar(select(db.func.count()).select_from(Feedback)
                                 .where(Feedback.customer_id == cid)) == 1
        assert db.session.execute(select(CheckIn.latitude, CheckIn.longitude).where(
            CheckIn.customer_id == cid)).all() == [(0.0, 0.0)]
        assert db.session.get(CustomerLocation, cid) is None
        assert set(db.session.scalars(select(OwnershipEvent.routing).where(
            OwnershipEvent.customer_id == cid))) == {None}
        assert set(db.session.scalars(select(Task.title).where(
            Task.id.in_([ids["task"], ids["deal_task"]])))) == {"—"}
        # The batch's notification and chat message stay, without the name; what led to
        # the customer's task went.
        assert db.session.scalar(select(Notification.params).where(
            Notification.kind == NotificationKind.LEAD_UNROUTED)) == {
            "name": "—", "count": 2, "team": "Shanghai 1"}
        assert db.session.scalar(select(Notification.id).where(
            Notification.link == f"/tasks/{ids['deal_task']}")) is None
        assert [d.kind for d in db.session.scalars(select(Delivery))] == ["lead_unrouted"]
        # The import preview keeps the other lead, not theirs.
        payload = db.session.scalar(select(ImportPreview.payload).where(
            ImportPreview.token == ids["preview"]))
        rows = json.loads(zlib.decompress(payload))["rows"]
        assert [row["values"]["name"] for row in rows] == ["周八"]


def test_a_legal_hold_blocks_erasure(app, world, login_as):
    admin = login_as("admin")
    request_id = _register(admin, world.customers.rep, "deletion")
    assert admin.post_form(f"/admin/data-requests/{request_id}/hold",
                           {"reason": "诉讼中"}).status_code == 303
    refused = admin.post_form(f"/admin/data-requests/{request_id}/erase",
                              {"confirm": str(world.customers.rep), "reason": "要求删除"},
                              headers=EN)
    assert refused.status_code == 422
    assert "legal hold" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Customer, world.customers.rep).name == "张三"
    assert admin.post_form(f"/admin/data-requests/{request_id}/release-hold").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(LegalHold.id)) is None


def test_office_may_not_erase(world, login_as):
    office = login_as("office")
    request_id = _register(office, world.customers.rep, "deletion")
    assert office.post_form(f"/admin/data-requests/{request_id}/erase", {
        "confirm": str(world.customers.rep), "reason": "x"}).status_code == 403


# Consent ---------------------------------------------------------------------------------

@pytest.mark.recording
def test_withdrawn_consent_stops_playback_for_every_role(app, world, login_as):
    office = login_as("office")
    request_id = _register(office, world.customers.rep, "consent_withdrawal")
    url = f"/recordings/{world.recording}/audio"
    assert login_as("rep").get(url).status_code == 200
    assert office.post_form(f"/admin/data-requests/{request_id}/withdraw-consent"
                            ).status_code == 303
    for role in ("rep", "rep2", "manager", "region_manager", "rep3", "manager2", "office",
                 "admin"):
        client = login_as(role)
        for path in (url, f"/recordings/{world.recording}/original"):
            assert client.get(path).status_code in (403, 404), (role, path)
    assert _events(app, AuditAction.CONSENT)[-1][:2] == (world.office.id, world.customers.rep)
    # An admin may then delete the audio.
    admin = login_as("admin")
    assert admin.post_form(f"/admin/data-requests/{request_id}/delete-recordings"
                           ).status_code == 303
    with app.app_context():
        assert db.session.get(Recording, world.recording).status == RecordingStatus.DELETED


# Retention -------------------------------------------------------------------------------

@pytest.mark.recording
def test_retention_purges_exactly_what_is_past_its_date(app, world, make_customer):
    from crm.privacy.jobs import purge_by_retention

    with app.app_context():
        visit = db.session.get(FollowUp, world.ride_along)
        settings = db.session.get(RetentionSettings, 1)
        assert (settings.recording_days, settings.audit_days) == (365, 1095)
        now = utcnow()
        # The recording's visit is 364 days old: kept.
        visit.occurred_at = now - timedelta(days=364)
        old = now - timedelta(days=1096)
        db.session.add_all([
            AuditEvent(action=AuditAction.VIEW, actor_id=world.rep.id,
                       customer_id=world.customers.rep2, at=old),
            AuditEvent(action=AuditAction.VIEW, actor_id=world.rep.id,
                       customer_id=world.customers.rep2, at=now - timedelta(days=1094)),
            AuditEvent(action=AuditAction.VIEW, actor_id=world.rep.id,
                       customer_id=world.customers.hz, at=old),
            LegalHold(customer_id=world.customers.hz, reason="诉讼", placed_by_id=world.admin.id),
        ])
        db.session.commit()
        first = purge_by_retention()
        assert first["recordings"] == 0 and first["audit_events"] == 1
        assert db.session.get(Recording, world.recording).status == RecordingStatus.READY

        db.session.get(FollowUp, world.ride_along).occurred_at = now - timedelta(days=366)
        db.session.commit()
        second = purge_by_retention()
        assert second["recordings"] == 1 and second["audit_events"] == 0
        assert db.session.get(Recording, world.recording).status == RecordingStatus.DELETED
        assert purge_by_retention()["recordings"] == 0  # safe to run twice
        remaining = db.session.scalars(select(AuditEvent.customer_id).where(
            AuditEvent.action == AuditAction.VIEW, AuditEvent.at < now)).all()
        assert sorted(remaining) == sorted([world.customers.rep2, world.customers.hz])
        assert db.session.scalar(select(db.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == AuditAction.PURGE)) == 2


@pytest.mark.recording
def test_a_legal_hold_exempts_recordings_from_retention(app, world):
    from crm.privacy.jobs import purge_by_retention

    with app.app_context():
        db.session.get(FollowUp, world.ride_along).occurred_at = utcnow() - timedelta(days=400)
        db.session.add(LegalHold(customer_id=world.customers.rep, reason="诉讼",
                                 placed_by_id=world.admin.id))
        db.session.commit()
        assert purge_by_retention()["recordings"] == 0
        assert db.session.get(Recording, world.recording).status == RecordingStatus.READY


def test_audit_retention_cannot_go_below_three_years(app, world, login_as):
    admin = login_as("admin")
    response = admin.post_form("/admin/retention", {
        "recording_days": "365", "audit_days": "1000", "version": "1"})
    assert response.status_code == 422
    assert admin.post_form("/admin/retention", {
        "recording_days": "180", "audit_days": "2000", "version": "1"}).status_code == 303
    with app.app_context():
        row = db.session.get(RetentionSettings, 1)
        assert (row.recording_days, row.audit_days) == (180, 2000)


def test_the_purge_is_a_periodic_job():
    from crm.cron import PERIODIC_JOBS

    assert "crm.privacy.jobs.purge_by_retention" in {path for path, _, _ in PERIODIC_JOBS}


# Audited actions and the trail -----------------------------------------------------------

def test_viewing_contact_details_is_audited(app, world, login_as):
    rep = login_as("rep")
    assert rep.get(f"/customers/{world.customers.rep}/sections/contact").status_code == 200
    assert rep.get(f"/customers/{world.customers.rep}/sections/profile").status_code == 200
    assert [row[:2] for row in _events(app, AuditAction.VIEW_CONTACT)] == [
        (world.rep.id, world.customers.rep)]


@pytest.mark.recording
def test_playing_and_downloading_are_audited_once_per_play(app, world, login_as):
    rep = login_as("rep")
    url = f"/recordings/{world.recording}/audio"
    assert rep.get(url, headers={"Range": "bytes=0-"}).status_code == 206
    assert rep.get(url, headers={"Range": "bytes=500-"}).status_code == 206  # seeking
    assert rep.get(f"/recordings/{world.recording}/original").status_code == 200
    assert [(a, c, d["recording"]) for a, c, d in _events(app, AuditAction.PLAY)] == [
        (world.rep.id, world.customers.rep, world.recording)]
    assert len(_events(app, AuditAction.DOWNLOAD)) == 1


def test_the_audit_trail_filters_and_exports(app, world, login_as):
    login_as("rep").get(f"/customers/{world.customers.rep}")
    login_as("manager").get(f"/customers/{world.customers.rep2}")
    admin = login_as("admin")
    page = admin.get(f"/admin/audit?actor={world.rep.id}&action=view", headers=EN)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"#{world.customers.rep}" in html and f"#{world.customers.rep2}" not in html
    by_customer = admin.get(f"/admin/audit?customer={world.customers.rep2}").get_data(
        as_text=True)
    assert f"#{world.customers.rep2}" in by_customer
    today = date.today()
    empty = admin.get(f"/admin/audit?since={today + timedelta(days=2)}", headers=EN)
    assert "No event matches" in empty.get_data(as_text=True)
    csv_text = admin.get(f"/admin/audit.csv?actor={world.rep.id}").get_data(as_text=True)
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert lines[0] == "at_utc,actor,action,customer_id,detail"
    assert any(f"rep@example.test,view,{world.customers.rep}" in line for line in lines)
    assert all("manager@example.test" not in line for line in lines)


def test_the_trail_has_no_way_to_change_a_row(app):
    rules = [(rule.rule, rule.methods) for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/admin/audit")]
    assert rules and all(methods <= {"GET", "HEAD", "OPTIONS"} for _rule, methods in rules)


def test_role_and_team_changes_are_audited(app, world, login_as):
    admin = login_as("admin")
    response = admin.post_form(f"/admin/users/{world.rep2.id}", {
        "name": "Rep Two", "email": world.rep2.email, "phone": "", "role": "manager",
        "team_id": str(world.teams.hz), "locale": "", "timezone": "Asia/Shanghai",
        "specialty_industries": "", "specialty_size_band": "", "version": "1"})
    assert response.status_code == 303
    role = _events(app, AuditAction.ROLE_CHANGE)
    team = _events(app, AuditAction.TEAM_CHANGE)
    assert role[-1][0] == world.admin.id and role[-1][2]["user"] == world.rep2.id
    assert role[-1][2]["to"] == "manager"
    assert team[-1][2]["to"] == world.teams.hz


def test_sqlite_zeroes_what_it_deletes(tmp_path):
    """Every SQLite connection the app opens zeroes deleted values (whatever this run's
    database): the hook sits on all engines."""
    import crm.extensions  # noqa: F401  (registers the connection hook)

    engine = create_engine(f"sqlite:///{tmp_path / 'any.sqlite3'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA secure_delete")).scalar() == 1
    engine.dispose()


def test_trail_and_register_pages_do_not_grow_with_their_rows(app, world, login_as):
    from crm.privacy.models import RequestKind

    admin = login_as("admin")
    counts = {}
    for label, extra in (("few", 1), ("many", 40)):
        with app.app_context():
            db.session.add_all([AuditEvent(action=AuditAction.VIEW, actor_id=world.rep.id,
                                           customer_id=world.customers.rep)
                                for _ in range(extra)])
            db.session.add_all([DataRequest(kind=RequestKind.ACCESS,
                                            customer_id=world.customers.rep,
                                            received_on=date.today(), due_on=date.today(),
                                            status="open", created_by_id=world.admin.id)
                                for _ in range(extra)])
            db.session.commit()
        for page in ("/admin/audit", "/admin/data-requests"):
            admin.get(page)
            with count_queries(app) as counted:
                assert admin.get(page).status_code == 200
            counts[(label, page)] = counted.count
    assert counts[("few", "/admin/audit")] == counts[("many", "/admin/audit")]
    assert counts[("few", "/admin/data-requests")] == counts[("many", "/admin/data-requests")]


def test_the_export_is_made_by_a_real_worker(app, world, login_as):
    from rq.registry import FailedJobRegistry

    from crm.queue import get_queue, make_worker

    office = login_as("office")
    request_id = _register(office, world.customers.rep2)
    assert office.post_form(f"/admin/data-requests/{request_id}/export").status_code == 303
    pending = office.get(f"/admin/data-requests/{request_id}/exports",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="every 3s"' in pending and "<html" not in pending
    make_worker(app, simple=True).work(burst=True)
    with app.app_context():
        assert FailedJobRegistry(queue=get_queue()).count == 0
        export = db.session.scalars(select(DataExport)).one()
        assert export.status == "ready" and export.size > 0
    archive = zipfile.ZipFile(io.BytesIO(office.get(
        f"/admin/data-exports/{export.token}").data))
    assert json.loads(archive.read("data.json"))["profile"][0]["name"] == "李四"
