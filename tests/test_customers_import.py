"""Office import (CSV, XLSX; preview first, then one transaction) and export of customers."""

import csv
import io
import re
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from crm.accounts.models import User
from crm.audit.models import AuditAction, AuditEvent
from crm.clock import utcnow
from crm.customers.importing import MAX_BYTES, MAX_ROWS, PREVIEW_TTL_SECONDS
from crm.customers.listing import ListParams, customer_query
from crm.customers.models import Customer, ImportPreview, OwnershipChange, OwnershipEvent, Tier
from crm.extensions import db
from crm.queue import get_redis
from tests.conftest import count_queries

EN = {"Accept-Language": "en"}
PREVIEW_URL = re.compile(r"^/customers/import/([A-Za-z0-9_-]+)$")


# Helpers ---------------------------------------------------------------------------------

def _csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def _xlsx_bytes(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _upload(client, data: bytes, filename: str = "customers.csv", owner_id=""):
    return client.post_form("/customers/import",
                            {"file": (io.BytesIO(data), filename), "owner_id": str(owner_id)},
                            content_type="multipart/form-data", headers=EN)


def _preview_url(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    location = response.headers["Location"]
    assert PREVIEW_URL.match(location), location
    return location


def _counts(app) -> dict:
    with app.app_context():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Customer, OwnershipEvent, AuditEvent)}


def _preview_keys(app) -> list[tuple[int, str]]:
    """The kept previews, (user, token); and nothing of an import ever lingers in Redis."""
    with app.app_context():
        assert list(get_redis().scan_iter("crm:customer-import:*")) == []
        return [(row.user_id, row.token) for row in db.session.scalars(select(ImportPreview))]


def _customer(app, name: str) -> Customer:
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.name == name)).one()
        customer.tags  # noqa: B018 — loaded before the context closes
        return customer


# A file with one of everything: good rows, row errors, duplicates in the file and in the DB.
MIXED = [
    ["姓名", "单位", "手机", "等级", "标签", "需求", "备注"],
    ["钱八", "东方贸易", "135 1111 2222", "关键", "VIP、华东", "要报价", "ignored"],
    ["", "无名公司", "13511113333", "", "", "", ""],                   # no name
    ["坏号码", "", "12345", "", "", "", ""],                           # invalid phone
    ["等级错", "", "", "最高", "", "", ""],                             # unknown tier
    ["钱八的同事", "", "13511112222", "", "", "", ""],                  # same phone as row 2
    ["张三", "华东机械", "", "", "", "", ""],                            # exists: name + org
    ["李四冒名", "", "139-0013-9000", "", "", "", ""],                  # exists: phone
    ["孙九", "", "", "合适", "", "", ""],
]


# The upload form ---------------------------------------------------------------------------

def test_upload_form_offers_active_reps_of_every_team(world, login_as):
    html = login_as("office").get("/customers/import", headers=EN).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'type="file"' in html
    assert 'name="csrf_token"' in html
    assert "Nobody: the public pool" in html
    assert f'value="{world.rep.id}"' in html and f'value="{world.rep3.id}"' in html
    assert f'value="{world.manager.id}"' not in html  # reps only
    assert "<script>" not in html and " style=" not in html


def test_reps_and_managers_may_not_import_or_export(world, login_as):
    for who in ("rep", "manager", "region_manager"):
        client = login_as(who)
        for url in ("/customers/import", "/customers/export.csv", "/customers/export.xlsx"):
            assert client.get(url).status_code == 403, (who, url)
        response = _upload(client, _csv_bytes([["姓名"], ["某人"]]))
        assert response.status_code == 403


# Preview -----------------------------------------------------------------------------------

def test_preview_marks_errors_and_duplicates_and_writes_nothing(app, world, login_as):
    office = login_as("office")
    before = _counts(app)
    url = _preview_url(_upload(office, _csv_bytes(MIXED)))
    html = office.get(url, headers=EN).get_data(as_text=True)
    assert _counts(app) == before

    assert re.findall(r"<strong>(\d+)</strong> (will be imported|have errors|are duplicates)",
                      html) == [("2", "will be imported"), ("3", "have errors"),
                                ("3", "are duplicates")]
    assert "Name is missing." in html
    assert "“12345” is not a valid phone number." in html
    assert "Tier “最高” is not one of: General、Suitable、Key." in html
    assert "The same customer as row 2 of this file." in html
    assert "Already exists: 张三, owned by Rep." in html
    assert "Already exists: 李四, owned by Rep Two." in html
    assert "These columns are not imported: 备注" in html
    assert "Import 2 customers" in html
    # Of an existing customer the preview shows the name and owner, nothing more.
    assert "13800138000" not in html and "138 0013 8000" not in html
    assert _counts(app) == before


def test_preview_lives_in_redis_for_an_hour_not_in_the_cookie(app, world, login_as):
    office = login_as("office")
    url = _preview_url(_upload(office, _csv_bytes(MIXED)))
    token = PREVIEW_URL.match(url).group(1)
    # Bound to the uploader, gone after an hour.
    assert _preview_keys(app) == [(world.office.id, token)]
    with app.app_context():
        kept = db.session.get(ImportPreview, token)
        left = (kept.expires_at - utcnow()).total_seconds()
        assert 0 < left <= PREVIEW_TTL_SECONDS
        assert "钱八".encode() not in kept.payload  # compressed, not plain text
    session = app.session_interface.get_signing_serializer(app).loads(
        office.get_cookie("crm_session").value)
    assert "钱八" not in repr(session) and token not in repr(session)


def test_gbk_csv_from_chinese_excel(app, world, login_as):
    rows = [["姓名", "公司", "电话", "等级", "标签", "地区", "规模"],
            ["周一", "南方电子", "13522223333", "关键", "老客户，展会", "深圳", "中型"],
            ["吴二", "", "", "一般", "", "广州", ""]]
    office = login_as("office")
    url = _preview_url(_upload(office, _csv_bytes(rows, "gbk")))
    html = office.get(url, headers=EN).get_data(as_text=True)
    assert "南方电子" in html and "Import 2 customers" in html
    response = office.post_form(url, {}, headers=EN)
    assert response.status_code == 303
    assert response.headers["Location"] == "/customers?tab=pool"
    customer = _customer(app, "周一")
    assert customer.tier == Tier.KEY and customer.organisation == "南方电子"
    assert customer.phone_normalized == "+8613522223333"
    assert customer.region == "深圳" and customer.size_band == "medium"
    assert sorted(t.name for t in customer.tags) == ["展会", "老客户"]
    assert customer.owner_id is None and "nanfangdianzi" in customer.search_text


def test_xlsx_with_english_headers_to_an_owner(app, world, login_as):
    rows = [["Name", "Company", "Mobile", "Tier", "Tags", "E-mail", "Source"],
            ["Alice Wang", "Acme", 13533334444, "key", "import, vip", "alice@acme.test", "展会"],
            ["Bob Li", None, None, "suitable", None, None, None],
            ["Carol", "Acme", None, None, None, "not-an-email", None]]
    office = login_as("office")
    before = _counts(app)
    url = _preview_url(_upload(office, _xlsx_bytes(rows), "people.xlsx",
                               owner_id=world.rep3.id))
    html = office.get(url, headers=EN).get_data(as_text=True)
    assert "“not-an-email” is not an e-mail address." in html
    assert "Rep Three" in html and "Import 2 customers" in html

    response = office.post_form(url, {}, headers=EN)
    assert response.status_code == 303 and response.headers["Location"] == "/customers"
    page = office.get("/customers", headers=EN).get_data(as_text=True)
    assert "2 customers imported." in page
    after = _counts(app)
    assert after["Customer"] == before["Customer"] + 2
    alice = _customer(app, "Alice Wang")
    assert alice.phone_normalized == "+8613533334444"  # a number cell, read as digits
    assert alice.owner_id == world.rep3.id and alice.protected_until is not None
    assert alice.tier == Tier.KEY and alice.source_channel == "展会"
    assert sorted(t.name for t in alice.tags) == ["import", "vip"]
    with app.app_context():
        ids = db.session.scalars(select(Customer.id).where(
            Customer.name.in_(["Alice Wang", "Bob Li"]))).all()
        imported = db.session.scalars(select(AuditEvent.customer_id).where(
            AuditEvent.action == AuditAction.IMPORT)).all()
        assert sorted(imported) == sorted(ids)
        created = db.session.scalars(select(OwnershipEvent).where(
            OwnershipEvent.customer_id.in_(ids))).all()
        assert {(e.kind, e.to_user_id, e.by_user_id) for e in created} == {
            (OwnershipChange.CREATE, world.rep3.id, world.office.id)}
        assert len(created) == 2
    # Used up: the same preview cannot be imported twice.
    assert office.post_form(url, {}).status_code == 404
    assert _counts(app) == after


def test_an_export_can_be_imported_again(app, world, login_as):
    office = login_as("office")
    exported = office.get("/customers/export.xlsx", headers={"Accept-Language": "zh-CN"}).data
    html = office.get(_preview_url(_upload(office, exported, "export.xlsx")),
                      headers=EN).get_data(as_text=True)
    # Every column of a Chinese export is understood (the owner column is informational)
    # and every row is recognised as the customer it came from.
    assert "These columns are not imported: 负责人" in html
    assert "<strong>0</strong> will be imported" in html
    assert "<strong>5</strong> are duplicates" in html
    assert "<strong>0</strong> have errors" in html


def test_owner_must_be_an_active_rep(app, world, login_as):
    office = login_as("office")
    response = _upload(office, _csv_bytes([["姓名"], ["某人"]]), owner_id=world.manager.id)
    assert response.status_code == 422
    assert "Choose an owner from the list." in response.get_data(as_text=True)
    assert _preview_keys(app) == []


def test_owner_deactivated_before_confirming_refuses_the_import(app, world, login_as):
    office = login_as("office")
    url = _preview_url(_upload(office, _csv_bytes([["姓名"], ["某人"]]), owner_id=world.rep.id))
    with app.app_context():
        db.session.get(User, world.rep.id).active = False
        db.session.commit()
    before = _counts(app)
    response = office.post_form(url, {}, headers=EN)
    assert response.status_code == 303 and response.headers["Location"] == "/customers/import"
    assert "can no longer take customers" in office.get("/customers/import",
                                                         headers=EN).get_data(as_text=True)
    assert _counts(app) == before


# Confirm -----------------------------------------------------------------------------------

def test_confirm_writes_every_good_row_in_one_transaction(app, world, login_as, monkeypatch):
    office = login_as("office")
    url = _preview_url(_upload(office, _csv_bytes(MIXED)))
    before = _counts(app)

    # A failure halfway (here: writing the IMPORT audit events, after the customers were
    # flushed) leaves nothing behind, and the preview can be confirmed again.
    import crm.customers.importing as importing

    real_record_many = importing.record_many

    def failing(action, *args, **kwargs):
        if action == AuditAction.IMPORT:
            raise RuntimeError("disk full")
        return real_record_many(action, *args, **kwargs)

    monkeypatch.setattr(importing, "record_many", failing)
    with pytest.raises(RuntimeError):
        office.post_form(url, {})
    assert _counts(app) == before
    monkeypatch.setattr(importing, "record_many", real_record_many)

    assert office.post_form(url, {}).status_code == 303
    after = _counts(app)
    assert after["Customer"] == before["Customer"] + 2
    with app.app_context():
        names = set(db.session.scalars(select(Customer.name)))
    assert {"钱八", "孙九"} <= names
    assert not names & {"坏号码", "等级错", "钱八的同事", "李四冒名"}


def test_row_that_became_a_duplicate_after_the_preview_is_skipped(app, world, login_as,
                                                                  make_customer):
    office = login_as("office")
    url = _preview_url(_upload(office, _csv_bytes(MIXED)))
    # Someone adds 钱八 (by phone) while the office checks the preview.
    make_customer(world.rep2, name="钱先生", phone="13511112222")
    before = _counts(app)
    response = office.post_form(url, {}, headers=EN)
    assert response.status_code == 303
    page = office.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "1 customer imported." in page
    assert "1 row was not imported: the customer was added by someone else" in page
    assert _counts(app)["Customer"] == before["Customer"] + 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer).where(
            Customer.phone_normalized == "+8613511112222")) == 1


def test_another_user_cannot_see_or_confirm_the_preview(app, world, login_as):
    office = login_as("office")
    url = _preview_url(_upload(office, _csv_bytes(MIXED)))
    admin = login_as("admin")
    assert admin.get(url).status_code == 404
    assert admin.post_form(url, {}).status_code == 404
    assert admin.post_form("/customers/import/not-a-token", {}).status_code == 404
    # Still there for its owner.
    assert office.get(url).status_code == 200
    assert office.post_form(url, {}).status_code == 303


# Refused files -----------------------------------------------------------------------------

def _zip_without_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    return buffer.getvalue()


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


@pytest.mark.parametrize("data, filename, message", [
    (PNG, "photo.csv", "This is not a CSV or Excel (.xlsx) file."),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00", "doc.xlsx", "This is not a CSV or Excel"),
    (_zip_without_workbook(), "letter.xlsx", "This is not a CSV or Excel (.xlsx) file."),
    (b"PK\x03\x04broken", "broken.xlsx", "The Excel file could not be read."),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old.xls", "Old Excel files (.xls)"),
    (b"", "empty.csv", "The file has no rows."),
    ("电话,地址\n13511112222,上海\n".encode(), "noname.csv", "must be 姓名 (name)"),
], ids=["png", "pdf", "docx-like-zip", "broken-zip", "xls", "empty", "no-name-column"])
def test_what_is_not_a_customer_table_is_refused(app, world, login_as, data, filename,
                                                 message):
    response = _upload(login_as("office"), data, filename)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'type="file"' in html  # the form again, with the error
    assert _preview_keys(app) == []


def test_no_file_chosen(app, world, login_as):
    response = login_as("office").post_form("/customers/import", {"owner_id": ""},
                                            content_type="multipart/form-data", headers=EN)
    assert response.status_code == 422
    assert "Choose a CSV or Excel (.xlsx) file." in response.get_data(as_text=True)


def test_oversized_files_are_refused(app, world, login_as):
    office = login_as("office")
    header = "姓名,需求\n".encode()
    just_over = header + b"x" * (MAX_BYTES + 1 - len(header))
    response = _upload(office, just_over)
    assert response.status_code == 422
    assert "larger than 5 MB" in response.get_data(as_text=True)
    # Far over: refused while the request is read, with the same form and message.
    response = _upload(office, b"x" * (MAX_BYTES * 2))
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "larger than 5 MB" in html and 'type="file"' in html
    assert _preview_keys(app) == []


def test_oversized_request_from_a_rep_gets_no_form(app, world, login_as):
    response = _upload(login_as("rep"), b"x" * (MAX_BYTES * 2))
    assert response.status_code == 413
    assert 'type="file"' not in response.get_data(as_text=True)


def test_too_many_rows_are_refused(app, world, login_as):
    rows = [["姓名"]] + [[f"客户{n}"] for n in range(MAX_ROWS + 1)]
    response = _upload(login_as("office"), _csv_bytes(rows))
    assert response.status_code == 422
    assert f"more than {MAX_ROWS} rows" in response.get_data(as_text=True)


# Export ------------------------------------------------------------------------------------

def _csv_rows(response) -> list[list[str]]:
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")  # a BOM, so that Excel reads UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _xlsx_rows(response) -> list[list]:
    workbook = load_workbook(io.BytesIO(response.data), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def _listed_names(app, user_id: int, args: dict) -> list[str]:
    with app.app_context():
        user = db.session.get(User, user_id)
        query = customer_query(user, ListParams.from_args(args, user))
        return list(db.session.scalars(query.with_only_columns(Customer.name)
                                       .order_by(Customer.id.desc())))


@pytest.mark.parametrize("args", [{}, {"tab": "pool"}, {"q": "张三"}, {"tag": "制造业"},
                                  {"q": "no such customer"}])
def test_export_has_exactly_the_filtered_list(app, world, login_as, args):
    office = login_as("office")
    expected = _listed_names(app, world.office.id, args)
    csv_response = office.get("/customers/export.csv", query_string=args, headers=EN)
    assert csv_response.status_code == 200
    assert csv_response.mimetype == "text/csv"
    assert "attachment" in csv_response.headers["Content-Disposition"]
    rows = _csv_rows(csv_response)
    assert rows[0][:3] == ["Name", "Organisation", "Type"]
    assert [row[0] for row in rows[1:]] == expected

    xlsx_response = office.get("/customers/export.xlsx", query_string=args, headers=EN)
    assert xlsx_response.status_code == 200
    assert xlsx_response.mimetype.endswith("spreadsheetml.sheet")
    rows = _xlsx_rows(xlsx_response)
    assert [row[0] for row in rows[1:]] == expected


def test_export_values_and_the_pool_filter(app, world, login_as):
    rows = _csv_rows(login_as("office").get("/customers/export.csv?tab=pool", headers=EN))
    header, (pool,) = rows[0], rows[1:]
    record = dict(zip(header, pool, strict=True))
    assert record["Name"] == "孙七" and record["Phone"] == "136 0013 6000"
    assert record["WeChat"] == "sunqi88" and record["Tier"] == "General"
    assert record["Owner"] == ""
    rows = _csv_rows(login_as("admin").get("/customers/export.csv?q=张三", headers=EN))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Organisation"] == "华东机械" and record["Tags"] == "制造业"
    assert record["Owner"] == "Rep"


def test_export_is_audited_with_count_filters_and_whom_it_held(app, world, login_as):
    office = login_as("office")
    office.get("/customers/export.csv?tab=pool")
    office.get("/customers/export.xlsx?q=张三&tier=general")
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == AuditAction.EXPORT).order_by(AuditEvent.id)).all()
        summaries = [e for e in events if e.customer_id is None]
        held = [e for e in events if e.customer_id is not None]
        assert [(e.actor_id, e.customer_id) for e in summaries] == [(world.office.id, None)] * 2
        csv_batch, xlsx_batch = (e.detail.pop("batch") for e in summaries)
        assert summaries[0].detail == {"format": "csv", "count": 1, "filters": {"tab": "pool"}}
        assert summaries[1].detail == {"format": "xlsx", "count": 1,
                                       "filters": {"tab": "all", "q": "张三", "tier": "general"}}
        # One row per customer the file held, tied to its export by the batch.
        assert [(e.actor_id, e.customer_id, e.detail) for e in held] == [
            (world.office.id, world.customers.pool, {"format": "csv", "batch": csv_batch}),
            (world.office.id, world.customers.rep, {"format": "xlsx", "batch": xlsx_batch})]


def test_export_cells_are_never_formulas(app, world, login_as, make_customer):
    make_customer(None, name="=HYPERLINK(\"http://evil.test\")", needs="@SUM(A1)")
    office = login_as("office")
    rows = _csv_rows(office.get("/customers/export.csv?tab=pool", headers=EN))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Name"] == "'=HYPERLINK(\"http://evil.test\")"
    assert record["Needs"] == "'@SUM(A1)"
    workbook = load_workbook(io.BytesIO(office.get("/customers/export.xlsx?tab=pool").data))
    cell = workbook.active["A2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_export_query_count_does_not_grow_with_the_rows(app, world, login_as, make_customer):
    office = login_as("office")
    counts = {}
    for label, extra in (("few", 0), ("many", 40)):
        for n in range(extra):
            make_customer(world.rep if n % 2 else None, name=f"批量{n}", tags=[f"t{n % 5}"])
        for fmt in ("csv", "xlsx"):
            office.get(f"/customers/export.{fmt}")
            with count_queries(app) as counted:
                assert office.get(f"/customers/export.{fmt}").status_code == 200
            counts[(label, fmt)] = counted.count
    assert counts[("few", "csv")] == counts[("many", "csv")]
    assert counts[("few", "xlsx")] == counts[("many", "xlsx")]


def test_a_large_file_lists_a_bounded_number_of_rows(app, world, login_as):
    rows = [["姓名", "电话"]] + [[f"坏{n}", "123"] for n in range(600)] + [
        [f"好{n}", ""] for n in range(150)]
    office = login_as("office")
    html = office.get(_preview_url(_upload(office, _csv_bytes(rows))),
                      headers=EN).get_data(as_text=True)
    assert "<strong>600</strong> have errors" in html and "Import 150 customers" in html
    assert html.count('<tr class="import-error">') == 500
    assert html.count('<tr class="import-ok">') == 100
    assert "and 100 more rows" in html and "and 50 more rows" in html
