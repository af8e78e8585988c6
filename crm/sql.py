"""SQL that differs between SQLite and PostgreSQL, written once."""

from sqlalchemy import any_, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite

from crm.extensions import db


def insert_or_ignore(table, conflict_columns: list[str]):
    """An INSERT that skips rows whose `conflict_columns` (a unique key) already exist.

    Use it with `.values(...)` or `.from_select(...)`: a sweep that runs twice, or two workers
    at once, then writes each row once.
    """
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    table = getattr(table, "__table__", table)
    return dialect.insert(table).on_conflict_do_nothing(index_elements=conflict_columns)


def among(column, ids):
    """`column IN (ids)`, for ids from a sub-select (a UNION, say). On PostgreSQL it is
    `column = ANY(<the ids as one array>)`: the sub-select runs once and the rows come by
    index, where a plain IN of a few hundred ids makes the planner hash-join a scan of the
    whole table."""
    if db.engine.dialect.name != "postgresql":
        return column.in_(ids)
    listed = ids.subquery()
    every_id = select(func.array_agg(listed.c[0])).scalar_subquery()
    return column == any_(cast(every_id, postgresql.ARRAY(column.type)))
