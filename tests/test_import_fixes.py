"""Issue 17, the office's part: totals rows, phone extensions, the file of problem rows, the
customer type an import infers, and the export's dates."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from crm.accounts.models import User
from crm.columns import column_length
from crm.customers.models import Contact, Customer, CustomerKind
from crm.customers.phones import (
    NORMALISED_MAX_LENGTH,
    InvalidPhone,
    display_phone,
    normalise_phone,
)
from crm.extensions import db

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
PREVIEW_URL = re.compile(r"^/customers/import/([A-Za-z0-9_-]+)$")


def _xlsx_bytes(rows: list[list]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def _upload(client, data: bytes, filename: str = "customers.xlsx", headers=EN):
    response = client.post_form("/customers/import",
                                {"file": (io.BytesIO(data), filename), "owner_id": ""},
                                content_type="multipart/form-data", headers=headers)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    assert PREVIEW_URL.match(response.headers["Location"])
    return response.headers["Location"]


def _counts(html: str) -> list[tuple[str, str]]:
    return re.findall(r"<strong>(\d+)</strong> (will be imported|have errors|are duplicates)",
                      html)


def _customers(app, *names: str) -> dict[str, Customer]:
    with app.app_context():
        return {c.name: c for c in db.session.scalars(
            select(Customer).where(Customer.name.in_(names)))}


# Totals and footers ------------------------------------------------------------------------

SHEET_WITH_TOTALS = [
    ["序号", "姓名", "单位", "手机", "预计金额"],
    [1, "周一", "东方贸易", "13511110001", 100],
    [2, "吴二", "", "13511110002", 200],
    [None, "小计", None, None, 300],                 # a subtotal between groups
    [3, "郑三", "南方物流", "13511110003", 50],
    [4, "Total Solutions Ltd", "", "13511110004", 70],  # a customer, not a total
    [None, "合计", None, None, "=SUM(E2:E6)"],       # the footer Excel users add
    [None, None, None, None, 420],                   # a sum row without a label
    ["Total", None, None, None, None],               # a label in the first column
]


def test_totals_and_footer_rows_are_left_out_and_counted(app, world, login_as):
    office = login_as("office")
    url = _upload(office, _xlsx_bytes(SHEET_WITH_TOTALS))
    html = office.get(url, headers=EN).get_data(as_text=True)
    assert _counts(html) == [("4", "will be imported"), ("0", "have errors"),
                             ("0", "are duplicates")]
    assert ("4 rows are totals or footers (合计, Total…) and are left out: rows 4, 7, 8, 9."
            in html)
    assert "<dt>Rows in the file</dt><dd>8</dd>" in html
    assert office.post_form(url, {}, headers=EN).status_code == 303
    imported = _customers(app, "周一", "吴二", "郑三", "Total Solutions Ltd", "小计", "合计")
    assert sorted(imported) == sorted(["周一", "吴二", "郑三", "Total Solutions Ltd"])


def test_a_single_total_row_in_chinese(app, world, login_as):
    office = login_as("office")
    rows = [["姓名", "电话"], ["钱一", "13511110011"], ["合计：1 人", ""]]
    html = office.get(_upload(office, _csv_bytes(rows), "c.csv", headers=ZH),
                      headers=ZH).get_data(as_text=True)
    assert "1 行是合计或表尾（合计、Total…），不导入：第 3 行。" in html


def test_a_trailing_phone_without_a_name_is_an_error_not_a_total(app, world, login_as):
    office = login_as("office")
    rows = [["姓名", "手机"], ["钱二", "13511110021"], ["", "13511110022"]]
    html = office.get(_upload(office, _csv_bytes(rows), "c.csv"),
                      headers=EN).get_data(as_text=True)
    assert _counts(html)[:2] == [("1", "will be imported"), ("1", "have errors")]
    assert "Name is missing." in html
    assert "totals or footers" not in html and "is a total or footer" not in html


# Phone extensions --------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "stored"), [
    ("021-55556666转8", "+862155556666;ext=8"),
    ("021-5555 6666 转 808", "+862155556666;ext=808"),
    ("021-55556666-8", "+862155556666;ext=8"),
    ("(021)55556666-12345", "+862155556666;ext=12345"),
    ("021-55556666 ext. 8", "+862155556666;ext=8"),
    ("021-55556666 x8", "+862155556666;ext=8"),
    ("021-55556666#8", "+862155556666;ext=8"),
    ("0755-8888 9999 分机 1234", "+8675588889999;ext=1234"),
    ("021 5555 6666 ext. 8", "+862155556666;ext=8"),  # as display_phone writes it back
    ("021-5555-6666", "+862155556666"),  # dashes inside a number are not an extension
    ("138-0013-8000", "+8613800138000"),
])
def test_extensions_are_kept(typed, stored):
    assert normalise_phone(typed) == stored
    assert normalise_phone(display_phone(stored)) == stored
    assert len(stored) <= NORMALISED_MAX_LENGTH <= column_length(Customer.phone_normalized)
    assert NORMALISED_MAX_LENGTH <= column_length(Contact.phone_normalized)


@pytest.mark.parametrize("typed", [
    "13800138000-8",  # a mobile has no dashed extension
    "021-5555-666",  # too short, whatever the dash
    "021-55556666-123456",  # a dash takes at most five digits
    "021-55556666转12345678",
    "转8",
])
def test_what_is_still_not_a_number(typed):
    with pytest.raises(InvalidPhone):
        normalise_phone(typed)


def test_display_shows_the_extension():
    assert display_phone("+862155556666;ext=8") == "021 5555 6666 ext. 8"


def test_import_keeps_extensions_and_two_extensions_are_two_customers(app, world, login_as):
    office = login_as("office")
    rows = [["姓名", "单位", "类型", "电话"],
            ["采购部", "明德科技", "单位", "021-55556666转8"],
            ["财务部", "明德科技", "单位", "021-55556666-9"],
            ["前台", "明德科技", "单位", "021-55556666"]]
    url = _upload(office, _csv_bytes(rows), "c.csv")
    html = office.get(url, headers=EN).get_data(as_text=True)
    assert _counts(html) == [("3", "will be imported"), ("0", "have errors"),
                             ("0", "are duplicates")]
    assert office.post_form(url, {}, headers=EN).status_code == 303
    found = _customers(app, "采购部", "财务部", "前台")
    assert found["采购部"].phone_normalized == "+862155556666;ext=8"
    assert found["采购部"].phone == "021-55556666转8"  # as typed
    assert found["财务部"].phone_normalized == "+862155556666;ext=9"
    assert found["前台"].phone_normalized == "+862155556666"
    # The switchboard's digits find all three; the extension is not glued onto them.
    listing = office.get("/customers?tab=pool&q=5555-6666",
                         headers=EN).get_data(as_text=True)
    assert all(name in listing for name in ("采购部", "财务部", "前台"))
    assert "8621555566668" not in found["采购部"].search_contact


def test_the_card_form_takes_an_extension(app, world, login_as):
    rep = login_as("rep")
    response = rep.post_form("/customers", {"kind": "organisation", "name": "明德科技",
                                            "phone": "021-6234 5678转301", "tier": "general",
                                            "owner_id": ""}, headers=EN)
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    customer_id = int(response.headers["Location"].rsplit("/", 1)[1])
    card = rep.get(f"/customers/{customer_id}", headers=EN).get_data(as_text=True)
    assert "021 6234 5678 ext. 301" in card
    # Editing the contact section goes through the same normaliser.
    with app.app_context():
        version = db.session.get(Customer, customer_id).version
    response = rep.post_form(f"/customers/{customer_id}/sections/contact",
                             {"version": str(version), "phone": "021-62345678-302"},
                             headers=EN)
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    with app.app_context():
        assert db.session.get(Customer, customer_id).phone_normalized == (
            "+862162345678;ext=302")
    # And a contact's phone too.
    response = rep.post_form(f"/customers/{customer_id}/contacts",
                             {"name": "王主任", "phone": "021 6234 5678 x303"}, headers=EN)
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    with app.app_context():
        contact = db.session.scalars(select(Contact).where(Contact.name == "王主任")).one()
        assert contact.phone_normalized == "+862162345678;ext=303"


# The rows with problems, as a file ---------------------------------------------------------

PROBLEMS = [
    ["姓名", "单位", "手机", "等级", "备注"],
    ["好客户", "东方贸易", "135 1111 3333", "关键", "保留"],
    ["", "无名公司", "13511113334", "", "缺姓名"],
    ["坏号码", "", "12345", "", ""],
    ["等级错", "", "", "最高", "多余列"],
    ["张三", "华东机械", "", "", ""],  # already exists (the world's rep owns 张三)
    ["孙九", "", "", "合适", ""],
]


def _sheet_rows(data: bytes) -> list[list]:
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    return [["" if value is None else value for value in row]
            for row in workbook.active.iter_rows(values_only=True)]


def test_problem_rows_download_as_xlsx_and_import_again(app, world, login_as):
    office = login_as("office")
    url = _upload(office, _xlsx_bytes(PROBLEMS))
    preview = office.get(url, headers=EN).get_data(as_text=True)
    assert f'href="{url}/problems.xlsx"' in preview and f'href="{url}/problems.csv"' in preview
    assert "Download the rows with problems (XLSX)" in preview

    response = office.get(f"{url}/problems.xlsx", headers=EN)
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    assert "customers-problems.xlsx" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    rows = _sheet_rows(response.data)
    assert rows[0] == ["姓名", "单位", "手机", "等级", "备注", "Error"]
    by_name = {row[1] if not row[0] else row[0]: row for row in rows[1:]}
    assert [row[:5] for row in rows[1:]] == [
        ["", "无名公司", "13511113334", "", "缺姓名"],
        ["坏号码", "", "12345", "", ""],
        ["等级错", "", "", "最高", "多余列"],
        ["张三", "华东机械", "", "", ""],
    ]
    assert by_name["无名公司"][5] == "Name is missing."
    assert by_name["坏号码"][5] == "“12345” is not a valid phone number."
    assert by_name["等级错"][5].startswith("Tier “最高” is not one of:")
    assert by_name["张三"][5] == "Already exists: 张三, owned by Rep."
    # Nothing was imported by downloading, and the preview still stands.
    assert not _customers(app, "好客户")
    assert office.get(url, headers=EN).status_code == 200

    # Corrected and sent back, the Error column is passed over without a word.
    fixed = [rows[0], ["钱九", "无名公司", "13511113334", "", "缺姓名", rows[1][5]],
             ["坏号码", "", "13511113335", "", "", rows[2][5]]]
    again = office.get(_upload(office, _xlsx_bytes(fixed), "fixed.xlsx"),
                       headers=EN).get_data(as_text=True)
    assert _counts(again)[0] == ("2", "will be imported")
    assert "These columns are not imported: 备注" in again
    assert "Error" not in again.split("These columns are not imported:")[1].split("</p>")[0]


def test_problem_rows_as_csv_in_the_readers_language(app, world, login_as):
    office = login_as("office")
    url = _upload(office, _csv_bytes(PROBLEMS), "客户.csv")
    response = office.get(f"{url}/problems.csv", headers=ZH)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["姓名", "单位", "手机", "等级", "备注", "错误"]
    assert len(rows) == 5
    assert rows[1] == ["", "无名公司", "13511113334", "", "缺姓名", "姓名 未填写。"]
    assert rows[2] == ["坏号码", "", "12345", "", "", "“12345”不是有效的电话号码。"]
    assert rows[4][0] == "张三" and rows[4][5] == "已存在：张三，负责人为 Rep。"


def test_only_the_importer_may_download_the_problem_rows(app, world, login_as):
    url = _upload(login_as("office"), _xlsx_bytes(PROBLEMS))
    admin = login_as("admin")
    for suffix in ("/problems.xlsx", "/problems.csv"):
        assert admin.get(url + suffix).status_code == 404
    rep = login_as("rep")
    assert rep.get(url + "/problems.xlsx").status_code == 403


# Customer type -----------------------------------------------------------------------------

def test_type_is_inferred_when_the_file_has_no_type_column(app, world, login_as):
    office = login_as("office")
    rows = [["姓名", "单位", "手机"],
            ["马经理", "远大机电", "13511114441"],  # names an organisation
            ["牛先生", "", "13511114442"]]  # a person's name alone
    url = _upload(office, _csv_bytes(rows), "c.csv")
    assert office.post_form(url, {}, headers=EN).status_code == 303
    found = _customers(app, "马经理", "牛先生")
    assert found["马经理"].kind == CustomerKind.ORGANISATION
    assert found["牛先生"].kind == CustomerKind.PERSON


def test_a_type_column_still_decides(app, world, login_as):
    office = login_as("office")
    rows = [["姓名", "单位", "类型"],
            ["杨女士", "远大机电", "个人"],  # a person who works somewhere
            ["远大物流", "", "单位"],
            ["羊先生", "远大机电", ""]]  # the type left empty: inferred
    url = _upload(office, _csv_bytes(rows), "c.csv")
    assert office.post_form(url, {}, headers=EN).status_code == 303
    found = _customers(app, "杨女士", "远大物流", "羊先生")
    assert found["杨女士"].kind == CustomerKind.PERSON
    assert found["远大物流"].kind == CustomerKind.ORGANISATION
    assert found["羊先生"].kind == CustomerKind.ORGANISATION


# Export ------------------------------------------------------------------------------------

def _export_records(client, args: str) -> list[dict]:
    response = client.get(f"/customers/export.csv?{args}", headers=EN)
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def _set_dates(app, customer_id, **values):
    with app.app_context():
        customer = db.session.get(Customer, customer_id)
        for name, value in values.items():
            setattr(customer, name, value)
        db.session.commit()


def test_export_has_last_contact_protection_end_and_created_date(app, world, login_as):
    _set_dates(app, world.customers.rep,
               last_contact_at=datetime(2026, 3, 5, 6, 30, tzinfo=UTC),
               protected_until=datetime(2026, 4, 1, 16, 0, tzinfo=UTC),
               created_at=datetime(2026, 1, 31, 17, 0, tzinfo=UTC))
    _set_dates(app, world.customers.rep2, protected_until=None)  # a won deal keeps it
    office = login_as("office")
    records = {r["Name"]: r for r in _export_records(office, "tab=all")}
    header = list(records["张三"])
    assert header[-4:] == ["Owner", "Last contact", "Protected until", "Created"]
    # Shown in the user's zone (the default, Asia/Shanghai: UTC+8).
    assert records["张三"]["Last contact"] == "2026-03-05 14:30"
    assert records["张三"]["Protected until"] == "2026-04-02 00:00"
    assert records["张三"]["Created"] == "2026-02-01"
    assert records["李四"]["Protected until"] == "For good (won deal)"
    assert records["孙七"]["Protected until"] == ""  # in the pool
    assert records["孙七"]["Last contact"] == ""

    # Another zone, another day; the workbook has the same columns.
    with app.app_context():
        db.session.get(User, world.office.id).timezone = "America/Los_Angeles"
        db.session.commit()
    records = {r["Name"]: r for r in _export_records(office, "tab=all")}
    assert records["张三"]["Last contact"] == "2026-03-04 22:30"
    assert records["张三"]["Created"] == "2026-01-31"
    sheet = _sheet_rows(office.get("/customers/export.xlsx?q=张三",
                                   headers=ZH).data)
    assert sheet[0][-4:] == ["负责人", "最近联系", "保护期至", "创建时间"]
    assert sheet[1][-3:] == ["2026-03-04 22:30", "2026-04-01 09:00", "2026-01-31"]
