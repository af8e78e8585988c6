"""Import previews in a customer's export and erasure. A preview (crm.customers.importing)
keeps an uploaded file's checked rows until it is confirmed or expires; a row may be this
customer (their phone, name and organisation, e-mail or WeChat, or a duplicate naming them).
Export lists those rows; erasure takes them out of every preview. Registered with
crm.privacy on import."""

import json
import zlib

from sqlalchemy import select, update

from crm.customers.models import Contact, Customer, ImportPreview
from crm.extensions import db
from crm.privacy import erasure, export


def _lower(value) -> str:
    return (value or "").strip().lower() if isinstance(value, str) else ""


def _matcher(cid: int):
    customer = db.session.get(Customer, cid)
    phones = {customer.phone_normalized} | set(db.session.scalars(
        select(Contact.phone_normalized).where(Contact.customer_id == cid)))
    phones.discard(None)
    name, organisation = _lower(customer.name), _lower(customer.organisation)
    addresses = {_lower(customer.email), _lower(customer.wechat)} - {""}

    def matches(row: dict) -> bool:
        values = row.get("values") or {}
        duplicate = row.get("duplicate") or {}
        return bool(
            (row.get("phone_normalized") and row["phone_normalized"] in phones)
            or (name and (_lower(values.get("name")), _lower(values.get("organisation")))
                == (name, organisation))
            or (duplicate.get("kind") == "db" and _lower(duplicate.get("name")) == name)
            or ({_lower(values.get("email")), _lower(values.get("wechat"))} & addresses))

    return matches


def _previews():
    for token, user_id, payload in db.session.execute(
            select(ImportPreview.token, ImportPreview.user_id, ImportPreview.payload)
            .order_by(ImportPreview.token)):
        yield token, user_id, json.loads(zlib.decompress(payload))


def _import_rows(cid: int) -> list[dict]:
    matches = _matcher(cid)
    found = []
    for _token, user_id, preview in _previews():
        for row in preview.get("rows", []):
            if matches(row):
                found.append({"imported_by_id": user_id, "file": preview.get("filename"),
                              "line": row.get("line"), "status": row.get("status"),
                              **{key: value for key, value in (row.get("values") or {}).items()},
                              "cells": " | ".join(str(c) for c in row.get("cells") or [])})
    return found


def erase(cid: int) -> None:
    """Each preview loses the customer's rows (the rest of the file stays to be confirmed)."""
    matches = _matcher(cid)
    for token, _user_id, preview in list(_previews()):
        rows = preview.get("rows", [])
        kept = [row for row in rows if not matches(row)]
        if len(kept) == len(rows):
            continue
        preview["rows"] = kept
        payload = zlib.compress(json.dumps(preview, ensure_ascii=False).encode())
        db.session.execute(update(ImportPreview).where(ImportPreview.token == token)
                           .values(payload=payload)
                           .execution_options(synchronize_session=False))


export.SECTIONS.append(("import_previews", _import_rows))
erasure.ERASERS.append(erase)
