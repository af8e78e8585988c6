"""SQL that differs between SQLite and PostgreSQL, written once."""

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
