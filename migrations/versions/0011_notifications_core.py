"""notifications are deduplicated and point anywhere; lunar birthdays; planned revisits

Revision ID: 0011_notifications_core
Revises: 0010_phone_extensions
Create Date: 2026-12-02 11:20:00

notifications gain a unique dedupe key (rows already stored get "legacy:<id>"), a link, the
parameters their text needs, and optional customer and deal. customers.birthday_lunar,
contacts.birthday and contacts.birthday_lunar; the revisits table (回访 plans).
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_notifications_core"
down_revision = "0010_phone_extensions"
branch_labels = None
depends_on = None


def upgrade():
    # SQLite adds a column with a foreign key only by rebuilding the table; nothing refers
    # to notifications, so the rebuild cascades nowhere.
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("dedupe_key", sa.String(200)))
        batch.add_column(sa.Column("link", sa.String(300)))
        batch.add_column(sa.Column("params", sa.JSON()))
        batch.add_column(sa.Column("customer_id", sa.Integer()))
        batch.add_column(sa.Column("deal_id", sa.Integer()))
        batch.create_foreign_key("fk_notifications_customer_id", "customers",
                                 ["customer_id"], ["id"], ondelete="CASCADE")
        batch.create_foreign_key("fk_notifications_deal_id", "deals",
                                 ["deal_id"], ["id"], ondelete="CASCADE")
    op.execute("UPDATE notifications SET dedupe_key = 'legacy:' || id")
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("dedupe_key", existing_type=sa.String(200), nullable=False)
    op.create_index("ix_notifications_dedupe_key", "notifications", ["dedupe_key"], unique=True)
    op.create_index("ix_notifications_customer_id", "notifications", ["customer_id"])
    op.create_index("ix_notifications_deal_id", "notifications", ["deal_id"])

    op.add_column("customers", sa.Column("birthday_lunar", sa.Boolean(), nullable=False,
                                         server_default=sa.false()))
    op.add_column("contacts", sa.Column("birthday", sa.Date()))
    op.add_column("contacts", sa.Column("birthday_lunar", sa.Boolean(), nullable=False,
                                        server_default=sa.false()))

    op.create_table(
        "revisits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(),
                  sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("deal_id", sa.Integer(), sa.ForeignKey("deals.id", ondelete="SET NULL")),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("plan_key", sa.String(120), nullable=False, unique=True),
        sa.Column("done_follow_up_id", sa.Integer(),
                  sa.ForeignKey("follow_ups.id", ondelete="SET NULL")),
        sa.Column("done_at", sa.DateTime()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_revisits_customer_due", "revisits", ["customer_id", "due_on"])
    op.create_index("ix_revisits_due_on", "revisits", ["due_on"])


def downgrade():
    op.drop_table("revisits")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("birthday_lunar")
        batch.drop_column("birthday")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("birthday_lunar")
    op.drop_index("ix_notifications_deal_id", "notifications")
    op.drop_index("ix_notifications_customer_id", "notifications")
    op.drop_index("ix_notifications_dedupe_key", "notifications")
    with op.batch_alter_table("notifications") as batch:
        for column in ("deal_id", "customer_id", "params", "link", "dedupe_key"):
            batch.drop_column(column)
