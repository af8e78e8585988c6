"""indexes for 100,000 customers and 1,000,000 follow-ups: search, due follow-ups

Revision ID: 0017_scale
Revises: 0016_data_rights
Create Date: 2026-12-05 09:00:00

- Search (`LIKE '%…%'` on customers.search_text and search_contact): on PostgreSQL, pg_trgm
  GIN indexes, which serve a substring LIKE of three characters or more; on SQLite, an FTS5
  table with the trigram tokenizer (SQLite 3.34+) over the same two columns, kept in step by
  triggers, which `crm.customers.search` asks with LIKE (the trigram tokenizer answers LIKE
  from its index). Shorter needles scan as before.
- Follow-ups due (Today, the team's overdue counts): a follow-up's next step is the plan
  until a later follow-up on its customer supersedes it. `follow_ups.superseded` says so,
  kept by triggers on insert, delete and a change of customer or time (whoever writes the
  rows: the app, an import, a set-based job), so a due list reads the live plans through an
  (author_id, superseded, next_date) index instead of testing every follow-up that ever
  planned a next date against all later ones.
"""
import sqlite3

import sqlalchemy as sa
from alembic import op

revision = "0017_scale"
down_revision = "0016_data_rights"
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


# A follow-up is superseded when a later one (occurred_at greater) exists on its customer.
LATER = ("EXISTS (SELECT 1 FROM follow_ups later WHERE later.customer_id = {row}.customer_id "
         "AND later.occurred_at > {row}.occurred_at)")
SQLITE_PLAN_TRIGGERS = {
    "follow_ups_plan_insert": f"""
        CREATE TRIGGER follow_ups_plan_insert AFTER INSERT ON follow_ups BEGIN
          UPDATE follow_ups SET superseded = 1 WHERE customer_id = NEW.customer_id
            AND occurred_at < NEW.occurred_at AND superseded = 0;
          UPDATE follow_ups SET superseded = 1 WHERE id = NEW.id AND {LATER.format(row="NEW")};
        END""",
    "follow_ups_plan_delete": f"""
        CREATE TRIGGER follow_ups_plan_delete AFTER DELETE ON follow_ups BEGIN
          UPDATE follow_ups SET superseded = 0 WHERE customer_id = OLD.customer_id
            AND superseded = 1 AND NOT {LATER.format(row="follow_ups")};
        END""",
    "follow_ups_plan_move": f"""
        CREATE TRIGGER follow_ups_plan_move AFTER UPDATE OF customer_id, occurred_at
        ON follow_ups BEGIN
          UPDATE follow_ups SET superseded = {LATER.format(row="follow_ups")}
            WHERE customer_id IN (OLD.customer_id, NEW.customer_id);
        END""",
}
POSTGRES_PLAN_FUNCTION = f"""
    CREATE OR REPLACE FUNCTION follow_ups_plan() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        UPDATE follow_ups SET superseded = true WHERE customer_id = NEW.customer_id
          AND occurred_at < NEW.occurred_at AND NOT superseded;
        UPDATE follow_ups SET superseded = true WHERE id = NEW.id AND {LATER.format(row="NEW")};
      ELSIF TG_OP = 'DELETE' THEN
        UPDATE follow_ups f SET superseded = false WHERE f.customer_id = OLD.customer_id
          AND f.superseded AND NOT {LATER.format(row="f")};
      ELSE
        UPDATE follow_ups f SET superseded = {LATER.format(row="f")}
          WHERE f.customer_id IN (OLD.customer_id, NEW.customer_id);
      END IF;
      RETURN NULL;
    END $$"""
POSTGRES_PLAN_TRIGGER = """
    CREATE TRIGGER follow_ups_plan AFTER INSERT OR DELETE OR UPDATE OF customer_id, occurred_at
    ON follow_ups FOR EACH ROW EXECUTE FUNCTION follow_ups_plan()"""


def sqlite_has_trigram() -> bool:
    return sqlite3.sqlite_version_info >= (3, 34, 0)


def upgrade():
    dialect = op.get_bind().dialect.name
    op.add_column("follow_ups", sa.Column("superseded", sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    op.execute(f"UPDATE follow_ups SET superseded = {LATER.format(row='follow_ups')}")
    if dialect == "postgresql":
        op.execute(POSTGRES_PLAN_FUNCTION)
        op.execute(POSTGRES_PLAN_TRIGGER)
    else:
        for sql in SQLITE_PLAN_TRIGGERS.values():
            op.execute(sql)
    op.create_index("ix_follow_ups_author_plan", "follow_ups",
                    ["author_id", "superseded", "next_date"],
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
    op.drop_index("ix_follow_ups_author_plan", table_name="follow_ups")
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS follow_ups_plan ON follow_ups")
        op.execute("DROP FUNCTION IF EXISTS follow_ups_plan()")
    else:
        for name in SQLITE_PLAN_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    # Not a batch rebuild: dropping the table would cascade into companions and recordings.
    op.drop_column("follow_ups", "superseded")
