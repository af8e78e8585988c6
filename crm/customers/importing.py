"""Importing customers from CSV or XLSX: read, check every row, preview, then import.

Nothing but the preview is written while the file is checked. The checked rows wait in the
database under a random token bound to the uploader (never in the cookie), expiring, until they
confirm; the import then runs in
one transaction. Messages are stored as codes and rendered in the reader's language.
"""

import csv
import io
import json
import re
import secrets
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload

from crm.access import may_own_imports
from crm.accounts.models import User
from crm.audit.log import record_many
from crm.audit.models import AuditAction
from crm.clock import utcnow
from crm.columns import column_length
from crm.customers.editing import give_to_owner, parse_tags
from crm.customers.forms import SIZE_BAND_LABELS
from crm.customers.history import log_ownership
from crm.customers.models import (
    GENDER_LABELS,
    KIND_LABELS,
    NOTE_MAX_LENGTH,
    TAGS_TEXT_MAX_LENGTH,
    TIER_LABELS,
    Contact,
    Customer,
    CustomerKind,
    Gender,
    ImportPreview,
    OwnershipChange,
    Tag,
    Tier,
)
from crm.customers.phones import InvalidPhone, normalise_phone
from crm.customers.pool import holding_count, pool_rules
from crm.customers.search import refresh_search_text
from crm.errors import DomainError
from crm.extensions import db
from crm.forms import EMAIL_SHAPE

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 60
# An .xlsx is a zip: refuse one that unpacks to far more than any honest 5 MB sheet.
MAX_UNZIPPED_BYTES = 80 * 1024 * 1024
PREVIEW_TTL_SECONDS = 3600
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_IN_CHUNK = 500  # values per IN (…) list


# Columns -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    field: str
    label: object  # lazy string: the header an export writes, in the reader's language
    aliases: tuple[str, ...]  # headers an import also accepts, in both languages
    choices: dict | None = None  # enum value -> lazy label, for tier, kind, gender, size
    # Only for what has no length in the table (notes, the tags as typed): every other
    # column is checked against the length the model gives it.
    length: int | None = None

    @property
    def max_length(self) -> int:
        return self.length or column_length(getattr(Customer, self.field))

    @property
    def examples(self) -> tuple[str, str]:
        """A Chinese and an English header the import accepts, for the upload page."""
        chinese = next(a for a in self.aliases if not a.isascii())
        return chinese, next(a for a in self.aliases if a.isascii())


SIZE_BAND_ALIASES = {"micro": ("微型", "10人以下"), "small": ("小型",), "medium": ("中型",),
                     "large": ("大型",)}
CHOICE_ALIASES = {
    "tier": {Tier.GENERAL: ("一般", "普通"), Tier.SUITABLE: ("合适",), Tier.KEY: ("关键", "重点")},
    "kind": {CustomerKind.PERSON: ("个人",),
             CustomerKind.ORGANISATION: ("单位", "机构", "公司", "企业", "organization")},
    "gender": {Gender.FEMALE: ("女", "f"), Gender.MALE: ("男", "m")},
    "size_band": SIZE_BAND_ALIASES,
}

# In the order an export writes them; an import finds them by header, in any order.
COLUMNS = (
    Column("name", _l("Name"), ("姓名", "名称", "客户", "客户名称", "客户姓名", "name",
                                "customer", "customer name", "full name")),
    Column("organisation", _l("Organisation"), ("单位", "公司", "单位名称", "公司名称", "机构",
                                                "organisation", "organization", "company")),
    Column("kind", _l("Type"), ("类型", "客户类型", "kind", "type"), KIND_LABELS),
    Column("gender", _l("Gender"), ("性别", "gender", "sex"), GENDER_LABELS),
    Column("phone", _l("Phone"), ("电话", "手机", "手机号", "手机号码", "电话号码", "联系电话",
                                  "phone", "mobile", "tel", "telephone")),
    Column("wechat", _l("WeChat"), ("微信", "微信号", "wechat", "weixin")),
    Column("email", _l("E-mail"), ("邮箱", "电子邮件", "电子邮箱", "email", "e-mail", "mail")),
    Column("address", _l("Address"), ("地址", "联系地址", "address")),
    Column("region", _l("Region"), ("地区", "区域", "region", "area")),
    Column("industry", _l("Industry"), ("行业", "所属行业", "industry")),
    Column("size_band", _l("Organisation size"), ("规模", "单位规模", "企业规模", "size",
                                                  "size band", "company size"),
           SIZE_BAND_LABELS),
    Column("job_title", _l("Job"), ("职位", "岗位", "job title", "job", "title")),
    Column("position", _l("Position"), ("职务", "position")),
    Column("tier", _l("Tier"), ("等级", "客户等级", "级别", "tier", "level"), TIER_LABELS),
    Column("source_channel", _l("Source channel"), ("来源", "来源渠道", "渠道", "source",
                                                    "source channel", "channel")),
    Column("tags", _l("Tags"), ("标签", "tags", "tag", "labels"), length=TAGS_TEXT_MAX_LENGTH),
    Column("needs", _l("Needs"), ("需求", "客户需求", "needs", "requirements"),
           length=NOTE_MAX_LENGTH),
)
COLUMNS_BY_FIELD = {column.field: column for column in COLUMNS}
TAG_MAX_LENGTH = column_length(Tag.name)


def _key(text) -> str:
    """Headers and choice values compare without case, spaces, dashes or stars."""
    text = str(text or "").replace("\ufeff", "").strip().lower()
    text = re.sub(r"[–—－]", "-", text)
    return re.sub(r"[\s_*:：,，\-]+", "", text)


def _in_every_language(label) -> list[str]:
    texts = [str(label)]
    for locale in current_app.config["LANGUAGES"]:
        with force_locale(locale):
            texts.append(str(label))
    return texts


def _header_lookup() -> dict[str, str]:
    lookup = {}
    for column in COLUMNS:
        for text in (*column.aliases, column.field, *_in_every_language(column.label)):
            lookup.setdefault(_key(text), column.field)
    return lookup


def _choice_lookup(column: Column) -> dict[str, str]:
    lookup = {}
    aliases = CHOICE_ALIASES.get(column.field, {})
    for value, label in column.choices.items():
        for text in (value, *aliases.get(value, ()), *_in_every_language(label)):
            lookup.setdefault(_key(text), str(value))
    return lookup


# Messages ----------------------------------------------------------------------------------

class ImportRefused(DomainError):
    """The whole file is refused before anything is stored."""

    def __init__(self, message):
        super().__init__(message, field="file")


NO_FILE = _l("Choose a CSV or Excel (.xlsx) file.")
TOO_BIG = _l("The file is larger than 5 MB. Split it into smaller files and import each.")
NOT_A_TABLE = _l("This is not a CSV or Excel (.xlsx) file.")
OLD_EXCEL = _l("Old Excel files (.xls) cannot be read. Save the sheet as .xlsx or CSV and "
               "upload it again.")
BAD_EXCEL = _l("The Excel file could not be read. Save it again as .xlsx or CSV and upload "
               "it again.")
BAD_CSV = _l("The CSV file could not be read. Save it again as CSV and upload it again.")
BAD_ENCODING = _l("The text encoding of the file is not recognised. Save it as “CSV UTF-8”.")
EMPTY = _l("The file has no rows.")
TOO_MANY_ROWS = _l("The file has more than %(max)d rows. Split it into smaller files and "
                   "import each.")
NO_NAME_COLUMN = _l("The first row must name the columns, and one of them must be 姓名 "
                    "(name).")

ROW_MESSAGES = {
    "required": _l("%(column)s is missing."),
    "too_long": _l("%(column)s is longer than %(max)d characters."),
    "phone": _l("“%(value)s” is not a valid phone number."),
    "email": _l("“%(value)s” is not an e-mail address."),
    "choice": _l("%(column)s “%(value)s” is not one of: %(allowed)s."),
    "tag_too_long": _l("The tag “%(value)s” is longer than %(max)d characters."),
}
SAME_AS_ROW = _l("The same customer as row %(line)d of this file.")
# The column a file of problem rows adds; an import of that file passes over it quietly.
ERROR_COLUMN = _l("Error")
EXISTS_OWNED = _l("Already exists: %(name)s, owned by %(owner)s.")
EXISTS_IN_POOL = _l("Already exists: %(name)s, in the public pool.")


def row_message(code: str, params: dict) -> str:
    """A stored row error, in the reader's language."""
    params = dict(params)
    column = COLUMNS_BY_FIELD.get(params.get("field"))
    if column is not None:
        params["column"] = str(column.label)
        if column.choices:
            params["allowed"] = "、".join(str(label) for label in column.choices.values())
    return str(ROW_MESSAGES[code]) % params


def duplicate_message(duplicate: dict) -> str:
    if duplicate["kind"] == "file":
        return str(SAME_AS_ROW) % {"line": duplicate["line"]}
    if duplicate.get("owner"):
        return str(EXISTS_OWNED) % {"name": duplicate["name"], "owner": duplicate["owner"]}
    return str(EXISTS_IN_POOL) % {"name": duplicate["name"]}


# Reading the file --------------------------------------------------------------------------

def read_table(data: bytes) -> list[list[str]]:
    """The file's rows as lists of text, whatever it is; refuses what is not a table."""
    if not data:
        raise ImportRefused(EMPTY)
    if len(data) > MAX_BYTES:
        raise ImportRefused(TOO_BIG)
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportRefused(OLD_EXCEL)
    return _read_csv(data)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps phone numbers typed as numbers as floats
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            names = {member.filename for member in members}
            unzipped = sum(member.file_size for member in members)
    except zipfile.BadZipFile as error:
        raise ImportRefused(BAD_EXCEL) from error
    if "xl/workbook.xml" not in names:
        raise ImportRefused(NOT_A_TABLE)  # a zip, a .docx, … but no workbook
    if unzipped > MAX_UNZIPPED_BYTES:
        raise ImportRefused(TOO_BIG)
    rows: list[list[str]] = []
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.active if workbook.active is not None else workbook.worksheets[0]
            for values in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
                row = [_cell_text(value) for value in values]
                while row and not row[-1]:
                    row.pop()  # a sheet's rows run as wide as its widest: keep what is filled
                if row:
                    rows.append(row)
                    if len(rows) > MAX_ROWS + 1:
                        break
        finally:
            workbook.close()
    except ImportRefused:
        raise
    except Exception as error:  # an untrusted file can fail in many ways; all mean "unreadable"
        raise ImportRefused(BAD_EXCEL) from error
    return _checked(rows)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)  # Excel's "Unicode text"
    elif data.startswith(b"\xef\xbb\xbf"):
        encodings = ("utf-8-sig",)
    else:
        encodings = ("utf-8", "gb18030")  # gb18030 covers GBK, which Chinese Excel writes
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportRefused(BAD_ENCODING)


def _read_csv(data: bytes) -> list[list[str]]:
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportRefused(NOT_A_TABLE)  # binary: an image, a PDF, …
    text = _decode(data)
    if _CONTROL.search(text):
        raise ImportRefused(NOT_A_TABLE)
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    rows: list[list[str]] = []
    try:
        for values in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            row = [value.strip() for value in values[:MAX_COLUMNS]]
            if any(row):
                rows.append(row)
                if len(rows) > MAX_ROWS + 1:
                    break
    except csv.Error as error:
        raise ImportRefused(BAD_CSV) from error
    return _checked(rows)


def _checked(rows: list[list[str]]) -> list[list[str]]:
    if len(rows) < 2:
        raise ImportRefused(EMPTY)
    if len(rows) > MAX_ROWS + 1:
        raise ImportRefused(str(TOO_MANY_ROWS) % {"max": MAX_ROWS})
    return rows


def map_header(header: list[str]) -> tuple[dict[int, str], list[str]]:
    """Which column holds which field, and the headers that are not imported."""
    lookup = _header_lookup()
    error_column = {_key(text) for text in _in_every_language(ERROR_COLUMN)}
    mapping: dict[int, str] = {}
    ignored = []
    for index, text in enumerate(header):
        if _key(text) in error_column:
            continue  # the messages of a file of problem rows, corrected and sent back
        found = lookup.get(_key(text))
        if found and found not in mapping.values():
            mapping[index] = found
        elif text.strip():
            ignored.append(text.strip())
    if "name" not in mapping.values():
        raise ImportRefused(NO_NAME_COLUMN)
    return mapping, ignored


# Checking rows -----------------------------------------------------------------------------

def _unquote(text: str) -> str:
    # An export writes '=… for cells Excel would run as formulas; read them back as typed.
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        return text[1:]
    return text


def check_row(raw: dict[str, str], choice_lookups: dict[str, dict]) -> dict:
    """One row's values (as create_customer takes them), tags, and errors."""
    values: dict[str, str | None] = {}
    errors: list[list] = []
    for column in COLUMNS:
        text = _unquote(raw.get(column.field, "").strip())
        if len(text) > column.max_length:
            errors.append(["too_long", {"field": column.field, "max": column.max_length}])
            continue
        if column.choices and text:
            value = choice_lookups[column.field].get(_key(text))
            if value is None:
                errors.append(["choice", {"field": column.field, "value": text[:40]}])
                continue
            text = value
        values[column.field] = text or None
    if not values.get("name") and not any(e[1]["field"] == "name" for e in errors):
        errors.append(["required", {"field": "name"}])
    phone_normalized = None
    if values.get("phone"):
        try:
            phone_normalized = normalise_phone(values["phone"])
        except InvalidPhone:
            errors.append(["phone", {"field": "phone", "value": values["phone"][:40]}])
    if values.get("email") and not EMAIL_SHAPE.regex.match(values["email"]):
        errors.append(["email", {"field": "email", "value": values["email"][:60]}])
    tags = [tag.strip() for tag in parse_tags(values.pop("tags", None))]
    for tag in tags:
        if len(tag) > TAG_MAX_LENGTH:
            errors.append(["tag_too_long", {"field": "tags", "value": tag[:TAG_MAX_LENGTH],
                                            "max": TAG_MAX_LENGTH}])
    values["tier"] = values.get("tier") or Tier.GENERAL.value
    if not values.get("kind"):
        # No type given: a row that names an organisation is one; a name alone is a person.
        values["kind"] = (CustomerKind.ORGANISATION if values.get("organisation")
                          else CustomerKind.PERSON).value
    return {"values": values, "tags": list(dict.fromkeys(tags)), "errors": errors,
            "phone_normalized": phone_normalized, "duplicate": None}


def _name_key(values: dict) -> tuple[str, str]:
    # As find_duplicates compares: the name and organisation, stripped and lower-cased.
    return ((values.get("name") or "").strip().lower(),
            (values.get("organisation") or "").strip().lower())


def _chunks(items: list, size: int = _IN_CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def existing_matches(rows: list[dict]) -> dict[int, dict]:
    """For each row (by index) that find_duplicates would refuse, the existing customer's
    name and owner — in a few set-based queries instead of one query per row."""
    phones = sorted({row["phone_normalized"] for row in rows if row["phone_normalized"]})
    names = sorted({_name_key(row["values"])[0] for row in rows if row["values"].get("name")})
    by_phone: dict[str, int] = {}
    by_name: dict[tuple[str, str], int] = {}
    for chunk in _chunks(phones):
        for customer_id, phone in db.session.execute(
                select(Customer.id, Customer.phone_normalized)
                .where(Customer.phone_normalized.in_(chunk)).order_by(Customer.id)):
            by_phone.setdefault(phone, customer_id)
        for customer_id, phone in db.session.execute(
                select(Contact.customer_id, Contact.phone_normalized)
                .where(Contact.phone_normalized.in_(chunk)).order_by(Contact.customer_id)):
            by_phone.setdefault(phone, customer_id)
    for chunk in _chunks(names):
        for customer_id, name, organisation in db.session.execute(
                select(Customer.id, func.lower(Customer.name),
                       func.coalesce(func.lower(Customer.organisation), ""))
                .where(func.lower(Customer.name).in_(chunk)).order_by(Customer.id)):
            by_name.setdefault((name, organisation), customer_id)
    matched: dict[int, int] = {}
    for index, row in enumerate(rows):
        customer_id = (by_phone.get(row["phone_normalized"]) if row["phone_normalized"]
                       else None) or by_name.get(_name_key(row["values"]))
        if customer_id:
            matched[index] = customer_id
    found: dict[int, dict] = {}
    for chunk in _chunks(sorted(set(matched.values()))):
        for customer in db.session.scalars(select(Customer).where(Customer.id.in_(chunk))
                                           .options(joinedload(Customer.owner))):
            found[customer.id] = {"kind": "db", "name": customer.name,
                                  "owner": customer.owner.name if customer.owner else None}
    return {index: found[customer_id] for index, customer_id in matched.items()}


# Footers -----------------------------------------------------------------------------------

# "合计", "总计：25", "小计（华东）", "合计人数", "Total", "Grand total: 25", "Sum"… — a sheet's
# totals, not a customer. An English word counts only alone or before a figure or a colon:
# "Total Solutions Ltd" is a customer.
_TOTAL_LABEL = re.compile(
    r"^(?:(?:合\s*计|总\s*计|小\s*计|共\s*计|合計|總計|小計).*"
    r"|(?:total|totals|sub-?\s*total|grand\s*total|sum)\s*(?:[:：(\[].*|[\d.,]+.*)?)$",
    re.IGNORECASE)
# A figure a totals row carries: 25, -3.5, 1,234, ¥12,000.00, 35%.
_FIGURE = re.compile(r"^[-+]?\s*[¥￥$€£]?\s*[\d,，]*\.?\d+\s*%?$")


def _is_total_label(text: str) -> bool:
    return bool(_TOTAL_LABEL.match(text.strip()))


def _only_figures(cells: list[str]) -> bool:
    """Every filled cell is a number or a formula (a sum whose value was not saved)."""
    filled = [cell.strip() for cell in cells if cell.strip()]
    return bool(filled) and all(_FIGURE.match(cell) or cell.startswith("=")
                                for cell in filled)


def _is_phone(text: str) -> bool:
    try:
        return bool(normalise_phone(_unquote(text)))
    except InvalidPhone:
        return False


def footer_rows(body: list[list[str]], mapping: dict[int, str]) -> set[int]:
    """The indexes of the rows in `body` that are totals, not customers: a total's label
    (合计, 总计, 小计, Total, Sum…) in the name column or the first filled cell, anywhere
    (subtotals sit between groups); and, after the last customer, rows of figures only."""
    field_index = {field_name: index for index, field_name in mapping.items()}

    def cell(cells: list[str], field_name: str) -> str:
        index = field_index.get(field_name)
        return cells[index] if index is not None and index < len(cells) else ""

    def labelled(cells: list[str]) -> bool:
        first = next((text for text in cells if text.strip()), "")
        return _is_total_label(cell(cells, "name")) or _is_total_label(first)

    footers = {index for index, cells in enumerate(body) if labelled(cells)}
    for index in range(len(body) - 1, -1, -1):
        cells = body[index]
        if index in footers:
            continue
        # A lone phone number is a customer without a name (an error to show), not a sum.
        if _only_figures(cells) and not _is_phone(cell(cells, "phone")):
            footers.add(index)
            continue
        break
    return footers


def check_file(data: bytes) -> dict:
    """Read and check a whole file: every row with its status, the ignored headers, and the
    lines left out as totals. Rows that will not import keep their cells as read, so that
    they can be handed back as a file to correct (problem_table)."""
    table = read_table(data)
    header, body = table[0], table[1:]
    mapping, ignored = map_header(header)
    lookups = {column.field: _choice_lookup(column) for column in COLUMNS if column.choices}
    footers = footer_rows(body, mapping)
    rows = []
    for index, cells in enumerate(body):
        if index in footers:
            continue
        raw = {field_name: cells[column] if column < len(cells) else ""
               for column, field_name in mapping.items()}
        row = check_row(raw, lookups)
        row["line"] = index + 2
        row["cells"] = cells
        rows.append(row)
    # The same customer twice in the file: the first one counts, the later ones are marked.
    first_by_phone: dict[str, int] = {}
    first_by_name: dict[tuple[str, str], int] = {}
    valid = [row for row in rows if not row["errors"]]
    for row in valid:
        phone, name = row["phone_normalized"], _name_key(row["values"])
        earlier = (first_by_phone.get(phone) if phone else None) or first_by_name.get(name)
        if earlier:
            row["duplicate"] = {"kind": "file", "line": earlier}
            continue
        if phone:
            first_by_phone[phone] = row["line"]
        first_by_name[name] = row["line"]
    candidates = [row for row in valid if row["duplicate"] is None]
    for index, existing in existing_matches(candidates).items():
        candidates[index]["duplicate"] = existing
    for row in rows:
        row["status"] = ("error" if row["errors"] else
                         "duplicate" if row["duplicate"] else "ok")
        if row["status"] == "ok":
            del row["cells"]  # imported as checked: only problem rows go back as a file
    return {"rows": rows, "ignored_columns": ignored, "header": header,
            "totals": sorted(index + 2 for index in footers)}


# Owners ------------------------------------------------------------------------------------

def owner_choices(user: User) -> list[User]:
    """The active reps an importer may give the customers to (office and admin: all)."""
    from crm.access import import_owners

    query = import_owners(user).options(joinedload(User.team))
    return list(db.session.scalars(query))


def owner_load_warning(owner: User | None, count: int) -> int | None:
    """The owner's team holding limit, when this import would take them over it."""
    if owner is None or not count:
        return None
    _days, limit = pool_rules(owner)
    return limit if holding_count(owner.id) + count > limit else None


# The preview, kept in the database -------------------------------------------------------

@dataclass
class Preview:
    token: str
    user_id: int
    owner_id: int | None
    filename: str
    rows: list[dict]
    ignored_columns: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)  # the file's first row, as read
    totals: list[int] = field(default_factory=list)  # lines left out as totals or footers

    def counts(self) -> dict[str, int]:
        counts = {"ok": 0, "error": 0, "duplicate": 0}
        for row in self.rows:
            counts[row["status"]] += 1
        return {**counts, "totals": len(self.totals),
                "total": len(self.rows) + len(self.totals)}

    def importable(self) -> list[dict]:
        return [row for row in self.rows if row["status"] == "ok"]

    def problems(self) -> list[dict]:
        """The rows that will not be imported: errors and duplicates, in file order."""
        return [row for row in self.rows if row["status"] != "ok"]


def _payload(preview: Preview) -> bytes:
    return zlib.compress(json.dumps(preview.__dict__, ensure_ascii=False).encode())


def store_preview(user: User, owner: User | None, filename: str, checked: dict) -> Preview:
    """Keep the checked rows until the user confirms (or they expire)."""
    preview = Preview(token=secrets.token_urlsafe(24), user_id=user.id,
                      owner_id=owner.id if owner else None, filename=filename[:200],
                      rows=checked["rows"], ignored_columns=checked["ignored_columns"],
                      header=checked["header"], totals=checked["totals"])
    db.session.add(ImportPreview(
        token=preview.token, user_id=user.id, payload=_payload(preview),
        expires_at=utcnow() + timedelta(seconds=PREVIEW_TTL_SECONDS)))
    return preview


def load_preview(user: User, token: str, *, take: bool = False) -> Preview | None:
    """The user's own preview, or None (unknown, expired, someone else's). `take` deletes
    it in the caller's transaction, so that a double-clicked confirm imports once (the second
    delete waits for the first transaction and finds nothing) and a refused import, rolled
    back, keeps the preview for another try."""
    if not TOKEN_PATTERN.fullmatch(token or ""):
        return None
    mine = (ImportPreview.token == token, ImportPreview.user_id == user.id,
            ImportPreview.expires_at > utcnow())
    if take:
        payload = db.session.execute(
            delete(ImportPreview).where(*mine).returning(ImportPreview.payload)).scalar()
    else:
        payload = db.session.scalar(select(ImportPreview.payload).where(*mine))
    if payload is None:
        return None
    preview = Preview(**json.loads(zlib.decompress(payload)))
    return preview if preview.user_id == user.id else None


def purge_expired_previews(now: datetime | None = None) -> int:
    """Delete previews nobody confirmed in time (names and phones do not linger)."""
    result = db.session.execute(
        delete(ImportPreview).where(ImportPreview.expires_at <= (now or utcnow())))
    return result.rowcount or 0


def problem_messages(row: dict) -> str:
    """Why a row will not be imported, in the reader's language, on one line."""
    messages = [row_message(code, params) for code, params in row["errors"]]
    if row.get("duplicate"):
        messages.append(duplicate_message(row["duplicate"]))
    return " ".join(messages)


def problem_table(preview: Preview) -> tuple[list[str], list[list[str]]]:
    """The rows that will not be imported, with the file's own columns as read and an Error
    column: correct the file, delete the column or keep it, and import it again."""
    width = max([len(preview.header), *(len(row.get("cells", ())) for row in
                                         preview.problems())])
    header = [*preview.header, *[""] * (width - len(preview.header)), str(ERROR_COLUMN)]
    rows = []
    for row in preview.problems():
        cells = list(row.get("cells", ()))
        rows.append([*cells, *[""] * (width - len(cells)), problem_messages(row)])
    return header, rows


# Importing ---------------------------------------------------------------------------------

OWNER_GONE = _l("The chosen owner can no longer take customers. Upload the file again and "
                "choose another owner.")


@dataclass
class ImportResult:
    imported: list[int]
    skipped: int  # rows that became duplicates between the preview and the confirmation


ENUM_FIELDS = {"tier": Tier, "kind": CustomerKind, "gender": Gender}


def _tags_by_name(names: set[str]) -> dict[str, Tag]:
    """Every tag the rows name: the existing ones in one query, the new ones added."""
    found: dict[str, Tag] = {}
    for chunk in _chunks(sorted(names)):
        found.update((tag.name, tag) for tag in db.session.scalars(
            select(Tag).where(Tag.name.in_(chunk))))
    for name in sorted(names - found.keys()):
        found[name] = Tag(name=name)
        db.session.add(found[name])
    return found


def _new_customer(row: dict, by_user: User, owner: User | None, protection_days: int,
                  tags: dict[str, Tag]) -> Customer:
    """The customer create_customer would make from this (already checked) row."""
    values = {name: (ENUM_FIELDS[name](value) if name in ENUM_FIELDS and value else value)
              for name, value in row["values"].items()}
    customer = Customer(**values, phone_normalized=row["phone_normalized"],
                        created_by_id=by_user.id)
    customer.tags = [tags[name[:TAG_MAX_LENGTH]] for name in row["tags"]]
    if owner is not None:
        give_to_owner(customer, owner, protection_days)
    refresh_search_text(customer)
    return customer


def import_rows(preview: Preview, by_user: User) -> ImportResult:
    """Create the preview's importable rows in the caller's transaction: the caller commits
    all of them or rolls all of them back.

    Duplicates are checked again, against the database as it is now. A row that became a
    duplicate since the preview is skipped: it is exactly what the importer asked not to
    create, and the rest of the file is still good.

    This is create_customer for many rows at once: the same fields, ownership, CREATE
    ownership event and CREATE audit event, but in a constant number of statements per
    batch — one create_customer per row runs a duplicate search each, and 5,000 of those on
    a large table outlast a web request.
    """
    owner = None
    if preview.owner_id is not None:
        owner = db.session.get(User, preview.owner_id)
        if owner is None or not may_own_imports(owner):
            raise DomainError(OWNER_GONE)
    protection_days = pool_rules(owner)[0] if owner else 0
    rows = preview.importable()
    taken = existing_matches(rows)
    rows = [row for index, row in enumerate(rows) if index not in taken]
    tags = _tags_by_name({name[:TAG_MAX_LENGTH] for row in rows for name in row["tags"]})
    customers = [_new_customer(row, by_user, owner, protection_days, tags) for row in rows]
    db.session.add_all(customers)
    db.session.flush()
    ids = [customer.id for customer in customers]
    log_ownership([{"customer_id": customer_id, "kind": OwnershipChange.CREATE,
                    "from_user_id": None, "to_user_id": owner.id if owner else None,
                    "by_user_id": by_user.id} for customer_id in ids])
    record_many(AuditAction.CREATE, by_user.id, ids)
    record_many(AuditAction.IMPORT, by_user.id, ids, batch=secrets.token_hex(4),
                rows=len(preview.rows), owner_id=preview.owner_id)
    return ImportResult(imported=ids, skipped=len(taken))
