"""indexes for 100,000 customers and 1,000,000 follow-ups: search, due follow-ups

Revision ID: 0017_scale
Revises: 0010_phone_extensions
Create Date: 2026-12-05 09:00:00

- Search (`LIKE '%…%'` on customers.search_text and search_contact): on PostgreSQL, pg_trgm
  GIN indexes, which serve a substring LIKE of three characters or more; on SQLite, an FTS5
  table with the trigram tokenizer (SQLite 3.34+) over the same two columns, kept in step by
  triggers, which `crm.customers.search` asks with LIKE (the trigram tokenizer answers LIKE
  from its index). Shorter needles scan as before.
- Follow-ups due (Today, the team's overdue counts): (author_id, next_date) for the rows that
  have a next date, so a rep's due list does not walk every follow-up with a next date.
"""
import sqlite3

import sqlalchemy as sa
from alembic import op

revision = "0017_scale"
down_revision = "0010_phone_extensions"
branch_labels = None
depends_on = None

FTS = "customers_fts"
SEARCHED = ("search_text", "search_contact")
TRIGGERS = {
    "customers_fts_insert": f"""
        CREATE TRIGGER IF NOT EXISTS customers_fts_insert AFTER INSERT ON customers BEGIN
          INSERT INTO {FTS}(rowid, search_text, search_contact)
          VALUES (new.id, new.search_text, new.search_contact);
        END""",
    "customers_fts_delete": f"""
        CREATE TRIGGER IF NOT EXISTS customers_fts_delete AFTER DELETE ON customers BEGIN
          INSERT INTO {FTS}({FTS}, rowid, search_text, search_contact)
          VALUES ('delete', old.id, old.search_text, old.search_contact);
        END""",
    "customers_fts_update": f"""
        CREATE TRIGGER IF NOT EXISTS customers_fts_update
        AFTER UPDATE OF search_text, search_contact ON customers BEGIN
          INSERT INTO {FTS}({FTS}, rowid, search_text, search_contact)
          VALUES ('delete', old.id, old.search_text, old.search_contact);
          INSERT INTO {FTS}(rowid, search_text, search_contact)
          VALUES (new.id, new.search_text, new.search_contact);
        END""",
}


def sqlite_has_trigram() -> bool:
    return sqlite3.sqlite_version_info >= (3, 34, 0)


def upgrade():
    dialect = op.get_bind().dialect.name
    op.create_index("ix_follow_ups_author_next_date", "follow_ups", ["author_id", "next_date"],
                    postgresql_where=sa.text("next_date IS NOT NULL"),
                    sqlite_where=sa.text("next_date IS NOT NULL"))
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in SEARCHED:
            op.execute(f"CREATE INDEX IF NOT EXISTS ix_customers_{column}_trgm ON customers "
                       f"USING gin ({column} gin_trgm_ops)")
    elif dialect == "sqlite" and sqlite_has_trigram():
        # External content: the text lives once, in customers; the index holds trigrams.
        op.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5("
                   "search_text, search_contact, content='customers', content_rowid='id', "
                   "tokenize='trigram')")
        for sql in TRIGGERS.values():
            op.execute(sql)
        op.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for column in SEARCHED:
            op.execute(f"DROP INDEX IF EXISTS ix_customers_{column}_trgm")
    elif dialect == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"DROP TABLE IF EXISTS {FTS}")
    op.drop_index("ix_follow_ups_author_next_date", table_name="follow_ups")
