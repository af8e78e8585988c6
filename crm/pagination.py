"""Keyset pagination: "load more" continues after the last row shown, never by OFFSET."""

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, and_, or_
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from crm.extensions import db


@dataclass
class Page:
    items: list
    next_cursor: str | None


def _column_and_direction(ordering):
    """`User.name` sorts ascending; `User.created_at.desc()` descending."""
    if isinstance(ordering, UnaryExpression) and ordering.modifier in (operators.desc_op,
                                                                        operators.asc_op):
        return ordering.element, ordering.modifier is operators.desc_op
    return ordering, False


_PARSERS = {"dt": datetime.fromisoformat, "d": date.fromisoformat}


def _encode_value(value):
    # JSON has no dates: tag them so they come back as the same type.
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    return value


def _python_type(column):
    column_type = getattr(column.type, "impl_instance", column.type)
    try:
        return column_type.python_type
    except NotImplementedError:
        return object


def _decode_value(raw, column):
    """Turn a cursor value back into the column's Python type; None if it does not fit."""
    if isinstance(raw, dict):
        if len(raw) != 1:
            return None
        (tag, text), = raw.items()
        if tag not in _PARSERS or not isinstance(text, str):
            return None
        try:
            raw = _PARSERS[tag](text)
        except ValueError:
            return None
    python_type = _python_type(column)
    if python_type is not object and not isinstance(raw, python_type):
        return None
    if isinstance(raw, bool) and python_type is not bool:
        return None
    return raw


def _decode(cursor: str, columns) -> list | None:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(raw, list) or len(raw) != len(columns):
        return None
    values = [_decode_value(value, column) for value, column in zip(raw, columns, strict=True)]
    return None if any(v is None for v in values) else values


def keyset_page(query: Select, orderings: list, cursor: str | None, limit: int = 50,
                key=None) -> Page:
    """Rows of `query` in `orderings` (the last one unique, e.g. the id) after `cursor`.

    `key(row)` gives the row's values for those columns; by default their attributes.
    An unreadable cursor starts from the first page rather than failing.
    """
    pairs = [_column_and_direction(o) for o in orderings]
    columns = [column for column, _desc in pairs]
    key = key or (lambda row: [getattr(row, column.key) for column in columns])
    values = _decode(cursor, columns) if cursor else None
    if values is not None:
        # (a, b) after (x, y)  ==  a > x OR (a = x AND b > y), with < for descending columns.
        conditions = []
        for i, (column, descending) in enumerate(pairs):
            equal_before = [columns[j] == values[j] for j in range(i)]
            beyond = column < values[i] if descending else column > values[i]
            conditions.append(and_(*equal_before, beyond))
        query = query.where(or_(*conditions))
    rows = list(db.session.scalars(query.order_by(*orderings).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        encoded = json.dumps([_encode_value(v) for v in key(rows[-1])])
        next_cursor = base64.urlsafe_b64encode(encoded.encode()).decode()
    return Page(items=rows, next_cursor=next_cursor)
