"""data subjects' rights: requests, exports of one customer, legal holds, retention

Revision ID: 0016_data_rights
Revises: 0015_reliability
Create Date: 2026-12-02 12:00:00

data_requests (the register), data_exports (a customer's ZIP and its expiring link),
legal_holds, retention_settings (one row, stored here: 365 days for recordings, 3 years for
audit events); two-factor sign-in: users.totp_secret, totp_enabled_at and totp_last_step, recovery_codes,
security_settings (one row: whether managers and admins must use it); customers.consent_withdrawn_at and customers.erased_at; an index on
audit_events (action, at) for the trail's filters and the retention purge.
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_data_rights"
down_revision = "0015_reliability"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "data_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.Enum("access", "correction", "deletion", "consent_withdrawal",
                                  name="data_request_kind", native_enum=False, length=20),
                  nullable=False),
        sa.Column("customer_id", sa.Integer(),
                  sa.ForeignKey("customers.id", ondelete="SET NULL")),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.Enum("open", "in_progress", "done", "refused",
                                    name="data_request_status", native_enum=False, length=20),
                  nullable=False),
        sa.Column("handler_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("outcome", sa.Text()),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime()),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_data_requests_customer_id", "data_requests", ["customer_id"])
    op.create_index("ix_data_requests_due_on", "data_requests", ["due_on"])

    op.create_table(
        "data_exports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(),
                  sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("request_id", sa.Integer(),
                  sa.ForeignKey("data_requests.id", ondelete="SET NULL")),
        sa.Column("requested_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("status", sa.Enum("queued", "ready", "failed", name="data_export_status",
                                    native_enum=False, length=20), nullable=False),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("file_name", sa.String(120)),
        sa.Column("size", sa.BigInteger()),
        sa.Column("error", sa.String(300)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ready_at", sa.DateTime()),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_data_exports_customer_id", "data_exports", ["customer_id"])
    op.create_index("ix_data_exports_expires_at", "data_exports", ["expires_at"])

    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(),
                  sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("placed_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
    )

    settings = op.create_table(
        "retention_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("recording_days", sa.Integer(), nullable=False),
        sa.Column("audit_days", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("updated_at", sa.DateTime()),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.bulk_insert(settings, [{"id": 1, "recording_days": 365, "audit_days": 1095,
                               "version": 1}])

    security = op.create_table(
        "security_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("two_factor_for_leads", sa.Boolean(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("updated_at", sa.DateTime()),
    )
    op.bulk_insert(security, [{"id": 1, "two_factor_for_leads": False}])
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("code_hash", sa.String(255), nullable=False),
        sa.Column("used_at", sa.DateTime()),
    )
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"])
    op.add_column("users", sa.Column("totp_secret", sa.String(64)))
    op.add_column("users", sa.Column("totp_enabled_at", sa.DateTime()))
    op.add_column("users", sa.Column("totp_last_step", sa.BigInteger()))

    op.add_column("customers", sa.Column("consent_withdrawn_at", sa.DateTime()))
    op.add_column("customers", sa.Column("erased_at", sa.DateTime()))
    op.create_index("ix_audit_events_action_at", "audit_events", ["action", "at"])


def downgrade():
    op.drop_index("ix_audit_events_action_at", table_name="audit_events")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("erased_at")
        batch.drop_column("consent_withdrawn_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_enabled_at")
        batch.drop_column("totp_secret")
    op.drop_index("ix_recovery_codes_user_id", table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_table("security_settings")
    op.drop_table("retention_settings")
    op.drop_table("legal_holds")
    op.drop_index("ix_data_exports_expires_at", table_name="data_exports")
    op.drop_index("ix_data_exports_customer_id", table_name="data_exports")
    op.drop_table("data_exports")
    op.drop_index("ix_data_requests_due_on", table_name="data_requests")
    op.drop_index("ix_data_requests_customer_id", table_name="data_requests")
    op.drop_table("data_requests")
