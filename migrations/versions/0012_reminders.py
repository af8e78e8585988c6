"""reminders: tasks, deliveries, reminder preferences, the teams' reminder settings

Revision ID: 0012_reminders
Revises: 0011_notifications_core
Create Date: 2026-12-02 11:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_reminders"
down_revision = "0011_notifications_core"
branch_labels = None
depends_on = None

TEAM_NAME_INDEX = "uq_teams_parent_name"
TEAM_INTS = (("followup_overdue_days", 2), ("followup_escalate_days", 5),
             ("revisit_every_days", 180), ("birthday_days", 3), ("drought_days", 3))


def upgrade():
    for name, default in TEAM_INTS:
        op.add_column("teams", sa.Column(name, sa.Integer(), nullable=False,
                                         server_default=str(default)))
    op.add_column("teams", sa.Column("revisit_days", sa.String(60), nullable=False,
                                     server_default="7,30,90"))
    op.add_column("teams", sa.Column("chat_channel", sa.String(20)))
    op.add_column("teams", sa.Column("chat_webhook_url", sa.String(500)))
    op.add_column("teams", sa.Column("chat_secret", sa.String(200)))

    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("assignee_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("customer_id", sa.Integer(),
                  sa.ForeignKey("customers.id", ondelete="CASCADE")),
        sa.Column("deal_id", sa.Integer(), sa.ForeignKey("deals.id", ondelete="CASCADE")),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("due_time", sa.Time()),
        sa.Column("snoozed_times", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("done_at", sa.DateTime()),
        sa.Column("done_by_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_tasks_assignee_open_due", "tasks", ["assignee_id", "done_at", "due_on"])
    op.create_index("ix_tasks_created_by_id", "tasks", ["created_by_id"])
    op.create_index("ix_tasks_customer_id", "tasks", ["customer_id"])
    op.create_index("ix_tasks_deal_id", "tasks", ["deal_id"])
    op.create_index("ix_tasks_due_on", "tasks", ["due_on"])

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE")),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id", ondelete="CASCADE")),
        sa.Column("kind", sa.String(20)),
        sa.Column("params", sa.JSON()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(300)),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime()),
        sa.Column("sent_at", sa.DateTime()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_deliveries_status_next", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries_user_id", "deliveries", ["user_id"])
    op.create_index("ix_deliveries_team_id", "deliveries", ["team_id"])

    op.create_index("ix_customers_birthday", "customers", ["birthday"])
    op.create_index("ix_contacts_birthday", "contacts", ["birthday"])

    op.create_table(
        "reminder_preferences",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("digest_enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("digest_minute", sa.Integer(), nullable=False, server_default="480"),
        sa.Column("digest_off_kinds", sa.String(1000), nullable=False, server_default=""),
        sa.Column("quiet_days", sa.String(20), nullable=False, server_default=""),
        sa.Column("version", sa.Integer(), nullable=False),
    )


def downgrade():
    op.drop_table("reminder_preferences")
    op.drop_index("ix_contacts_birthday", "contacts")
    op.drop_index("ix_customers_birthday", "customers")
    op.drop_table("deliveries")
    op.drop_table("tasks")
    # SQLite rebuilds the table to drop columns, and the rebuild cannot carry the
    # expression index on team names: it is dropped first and made again after.
    op.drop_index(TEAM_NAME_INDEX, table_name="teams")
    with op.batch_alter_table("teams") as batch:
        for name in ("chat_secret", "chat_webhook_url", "chat_channel", "revisit_days",
                     *(name for name, _default in TEAM_INTS)):
            batch.drop_column(name)
    op.create_index(TEAM_NAME_INDEX, "teams",
                    [sa.text("coalesce(parent_id, 0)"), sa.text("lower(name)")], unique=True)
