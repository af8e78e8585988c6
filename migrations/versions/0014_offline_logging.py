"""offline logging: recordings uploaded in resumable chunks, check-ins at the customer

Revision ID: 0014_offline_logging
Revises: 0013_goals_reports
Create Date: 2026-12-02 11:00:00

recording_uploads holds one row per chunked upload in flight (the partial file lives in the
upload store under partial/<id>); rows go when the file is attached or after a day unused. check_ins keeps each check-in
(position, accuracy, distance, flags, check-out); customer_locations a customer's saved
position, with who set it and when; teams.check_in_far_metres the distance (default 300 m)
beyond which a check-in is flagged.
"""
import sqlalchemy as sa
from alembic import op

import crm.columns

revision = "0014_offline_logging"
down_revision = "0013_goals_reports"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "recording_uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("follow_up_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("audio_type", sa.String(length=40), nullable=True),
        sa.Column("consent_confirmed", sa.Boolean(), nullable=False),
        sa.Column("created_at", crm.columns.UTCDateTime(), nullable=False),
        sa.Column("updated_at", crm.columns.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["follow_up_id"], ["follow_ups.id"],
                                name=op.f("fk_recording_uploads_follow_up_id_follow_ups"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_recording_uploads_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_uploads")),
    )
    with op.batch_alter_table("recording_uploads") as batch_op:
        batch_op.create_index(batch_op.f("ix_recording_uploads_follow_up_id"), ["follow_up_id"])
        batch_op.create_index(batch_op.f("ix_recording_uploads_user_id"), ["user_id"])
        batch_op.create_index(batch_op.f("ix_recording_uploads_updated_at"), ["updated_at"])

    op.create_table(
        "customer_locations",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("set_at", crm.columns.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_customer_locations_customer_id_customers"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["set_by_id"], ["users.id"],
                                name=op.f("fk_customer_locations_set_by_id_users")),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_locations")),
    )
    op.create_table(
        "check_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", crm.columns.UTCDateTime(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("far", sa.Boolean(), nullable=False),
        sa.Column("inaccurate", sa.Boolean(), nullable=False),
        sa.Column("checked_out_at", crm.columns.UTCDateTime(), nullable=True),
        sa.Column("follow_up_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["follow_up_id"], ["follow_ups.id"],
                                name=op.f("fk_check_ins_follow_up_id_follow_ups"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_check_ins_customer_id_customers"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_check_ins_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_ins")),
    )
    with op.batch_alter_table("check_ins") as batch_op:
        batch_op.create_index(batch_op.f("ix_check_ins_customer_id"), ["customer_id"])
        batch_op.create_index("ix_check_ins_user_at", ["user_id", "at"])
        batch_op.create_index(batch_op.f("ix_check_ins_follow_up_id"), ["follow_up_id"])
    op.add_column("teams", sa.Column("check_in_far_metres", sa.Integer(), nullable=False,
                                     server_default="300"))


def downgrade():
    # Not a batch on SQLite: rebuilding teams would lose the expression index of 0009.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE teams DROP COLUMN check_in_far_metres")
    else:
        op.drop_column("teams", "check_in_far_metres")
    op.drop_table("check_ins")
    op.drop_table("customer_locations")
    op.drop_table("recording_uploads")
