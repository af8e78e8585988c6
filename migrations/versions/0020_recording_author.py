"""recordings know whose visit or call they are

Revision ID: 0020_recording_author
Revises: 0019_routing
Create Date: 2026-12-02 17:20:00

recordings.author_id is the author of the recording's follow-up, set by the database when a
recording is added (a trigger; a follow-up's author never changes). An (author_id, status,
created_at) index lets the review queue and the manager's waiting count read the team's
ready recordings instead of every follow-up the team ever logged.
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_recording_author"
down_revision = "0019_routing"
branch_labels = None
depends_on = None

FOREIGN_KEY = "fk_recordings_author_id_users"
AUTHOR = "(SELECT author_id FROM follow_ups WHERE follow_ups.id = {row}.follow_up_id)"
SQLITE_TRIGGER = f"""
    CREATE TRIGGER recordings_author AFTER INSERT ON recordings BEGIN
      UPDATE recordings SET author_id = {AUTHOR.format(row="NEW")} WHERE id = NEW.id;
    END"""
POSTGRES_FUNCTION = f"""
    CREATE OR REPLACE FUNCTION recordings_author() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.author_id := {AUTHOR.format(row="NEW")};
      RETURN NEW;
    END $$"""
POSTGRES_TRIGGER = """
    CREATE TRIGGER recordings_author BEFORE INSERT ON recordings
    FOR EACH ROW EXECUTE FUNCTION recordings_author()"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("recordings", sa.Column("author_id", sa.Integer(),
                                              sa.ForeignKey("users.id", name=FOREIGN_KEY)))
    else:
        # Not a batch rebuild: dropping the table would cascade into its reviews.
        op.execute("ALTER TABLE recordings ADD COLUMN author_id INTEGER REFERENCES users (id)")
    op.execute(f"UPDATE recordings SET author_id = {AUTHOR.format(row='recordings')}")
    op.create_index("ix_recordings_author_status", "recordings",
                    ["author_id", "status", "created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS recordings_author ON recordings")
        op.execute("DROP FUNCTION IF EXISTS recordings_author()")
    else:
        op.execute("DROP TRIGGER IF EXISTS recordings_author")
    op.drop_index("ix_recordings_author_status", table_name="recordings")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(FOREIGN_KEY, "recordings", type_="foreignkey")
    op.drop_column("recordings", "author_id")
