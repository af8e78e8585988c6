"""Keyset pagination: "load more" continues after the last row shown, never by OFFSET."""

import base64
import json
from dataclasses import dataclass

from sqlalchemy import Select, and_, or_

from crm.extensions import db


@dataclass
class Page:
    items: list
    next_cursor: str | None


def _encode(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode()


def _decode(cursor: str) -> list | None:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        return None
    return values if isinstance(values, list) else None


def keyset_page(query: Select, columns: list, cursor: str | None, limit: int = 50,
                key=None) -> Page:
    """Rows of `query` ordered by `columns` (ascending, the last one unique) after `cursor`.

    `key(row)` returns the row's values for those columns; by default their attribute names.
    """
    key = key or (lambda row: [getattr(row, column.key) for column in columns])
    values = _decode(cursor) if cursor else None
    if values and len(values) == len(columns):
        # (a, b) > (x, y)  ==  a > x OR (a = x AND b > y), written out for every backend.
        conditions = []
        for i, column in enumerate(columns):
            equal_before = [columns[j] == values[j] for j in range(i)]
            conditions.append(and_(*equal_before, column > values[i]))
        query = query.where(or_(*conditions))
    rows = list(db.session.scalars(query.order_by(*columns).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=_encode(key(rows[-1])) if more and rows else None)
