"""stored phone numbers keep their extension: "+862155556666;ext=8" needs more than 20

Revision ID: 0010_phone_extensions
Revises: 0009_team_names_unique
Create Date: 2026-12-04 09:10:00

customers.phone_normalized and contacts.phone_normalized grow from 20 to 32 characters.
PostgreSQL widens a varchar in place. SQLite would rebuild the whole table for a new type,
and dropping customers while foreign keys are on cascades into contacts, so there the column
is swapped instead: add the wider one, copy, drop the old one, rename (SQLite 3.35 and
later; an older SQLite keeps the old declaration, which it never enforced anyway).
"""
import sqlite3

import sqlalchemy as sa
from alembic import op

revision = "0010_phone_extensions"
down_revision = "0009_team_names_unique"
branch_labels = None
depends_on = None

TABLES = ("customers", "contacts")
COLUMN = "phone_normalized"
EXTENSION_MARK = ";ext="


def _sqlite_can_drop_columns() -> bool:
    return sqlite3.sqlite_version_info >= (3, 35, 0)


def _swap_sqlite_column(table: str, length: int) -> None:
    index = f"ix_{table}_{COLUMN}"
    op.drop_index(index, table_name=table)
    op.execute(f"ALTER TABLE {table} ADD COLUMN {COLUMN}_new VARCHAR({length})")
    op.execute(f"UPDATE {table} SET {COLUMN}_new = {COLUMN}")
    op.execute(f"ALTER TABLE {table} DROP COLUMN {COLUMN}")
    op.execute(f"ALTER TABLE {table} RENAME COLUMN {COLUMN}_new TO {COLUMN}")
    op.create_index(index, table, [COLUMN], unique=False)


def _resize(old: int, new: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        if _sqlite_can_drop_columns():
            for table in TABLES:
                _swap_sqlite_column(table, new)
        return
    for table in TABLES:
        op.alter_column(table, COLUMN, existing_type=sa.String(length=old),
                        type_=sa.String(length=new), existing_nullable=True)


def upgrade():
    _resize(20, 32)


def downgrade():
    # Twenty characters hold no extension: numbers keep the part they dial first.
    connection = op.get_bind()
    for table in TABLES:
        rows = sa.table(table, sa.column("id", sa.Integer), sa.column(COLUMN, sa.String))
        found = connection.execute(sa.select(rows.c.id, rows.c[COLUMN]).where(
            rows.c[COLUMN].contains(EXTENSION_MARK))).all()
        if found:
            connection.execute(
                rows.update().where(rows.c.id == sa.bindparam("row_id"))
                .values({COLUMN: sa.bindparam("number")}),
                [{"row_id": row_id, "number": number.split(EXTENSION_MARK)[0]}
                 for row_id, number in found])
    _resize(32, 20)
