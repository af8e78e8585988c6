"""reliability: recording attempts, periodic jobs' last runs, import previews in the database

Revision ID: 0015_reliability
Revises: 0014_offline_logging
Create Date: 2026-12-02 11:00:00

- recordings.attempts / recordings.started_at: how often processing was tried and when the
  latest attempt began, so a recording whose job was lost is retried and, after too many
  attempts, marked failed with a reason instead of "processing" for good.
- periodic_runs: when each periodic job last ran, so a daily sweep missed while no cron
  process led runs at the next start.
- import_previews: the checked rows of a CSV/XLSX import between preview and confirm (they
  carry names and phones; in the database they expire and are deleted on confirm).
"""
import sqlalchemy as sa
from alembic import op

import crm.columns

revision = "0015_reliability"
down_revision = "0014_offline_logging"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("started_at", crm.columns.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_recordings_status"), ["status"], unique=False)

    op.create_table(
        "periodic_runs",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("last_run_at", crm.columns.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_periodic_runs")),
    )
    op.create_table(
        "import_previews",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", crm.columns.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_import_previews_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_import_previews")),
    )
    with op.batch_alter_table("import_previews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_previews_expires_at"), ["expires_at"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("import_previews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_previews_expires_at"))
    op.drop_table("import_previews")
    op.drop_table("periodic_runs")
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recordings_status"))
        batch_op.drop_column("started_at")
        batch_op.drop_column("attempts")
