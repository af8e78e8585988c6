"""routing new customers and the ideal customer profile

Revision ID: 0019_routing
Revises: 0018_customer_voice
Create Date: 2026-12-02 11:15:00

users gain specialty_regions, away_until and routed_turn; ownership_events gain routing (why
routing chose the owner); new tables team_routing, routing_rules, profile_criteria and
customer_fits.
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_routing"
down_revision = "0018_customer_voice"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("specialty_regions", sa.Text()))
    op.add_column("users", sa.Column("away_until", sa.Date()))
    op.add_column("users", sa.Column("routed_turn", sa.Integer()))
    op.add_column("ownership_events", sa.Column("routing", sa.JSON()))
    op.create_table(
        "team_routing",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("balance_by", sa.Enum("customers", "deals", name="routing_balance",
                                        native_enum=False, length=20),
                  server_default="customers", nullable=False),
        sa.Column("lead_form_token", sa.String(64)),
        sa.Column("turn", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE",
                                name="fk_team_routing_team_id_teams"),
        sa.PrimaryKeyConstraint("team_id", name="pk_team_routing"),
        sa.UniqueConstraint("lead_form_token", name="uq_team_routing_lead_form_token"),
    )
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("industries", sa.String(300)),
        sa.Column("size_bands", sa.String(100)),
        sa.Column("regions", sa.String(300)),
        sa.Column("sources", sa.String(300)),
        sa.Column("match_industry", sa.Boolean(), nullable=False),
        sa.Column("match_size", sa.Boolean(), nullable=False),
        sa.Column("match_region", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE",
                                name="fk_routing_rules_team_id_teams"),
        sa.PrimaryKeyConstraint("id", name="pk_routing_rules"),
    )
    op.create_index("ix_routing_rules_team_position", "routing_rules", ["team_id", "position"])
    op.create_table(
        "profile_criteria",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.Enum("industry", "size_band", "region", "source_channel", "tier",
                                   name="profile_field", native_enum=False, length=20),
                  nullable=False),
        sa.Column("value", sa.String(60), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE",
                                name="fk_profile_criteria_team_id_teams"),
        sa.PrimaryKeyConstraint("id", name="pk_profile_criteria"),
        sa.UniqueConstraint("team_id", "field", "value",
                            name="uq_profile_criteria_team_field_value"),
    )
    op.create_index("ix_profile_criteria_team_id", "profile_criteria", ["team_id"])
    op.create_table(
        "customer_fits",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE",
                                name="fk_customer_fits_team_id_teams"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE",
                                name="fk_customer_fits_customer_id_customers"),
        sa.PrimaryKeyConstraint("team_id", "customer_id", name="pk_customer_fits"),
    )
    op.create_index("ix_customer_fits_team_score", "customer_fits",
                    ["team_id", "score", "customer_id"])
    op.create_index("ix_customer_fits_customer_id", "customer_fits", ["customer_id"])


def downgrade():
    op.drop_table("customer_fits")
    op.drop_table("profile_criteria")
    op.drop_index("ix_routing_rules_team_position", table_name="routing_rules")
    op.drop_table("routing_rules")
    op.drop_table("team_routing")
    with op.batch_alter_table("ownership_events") as batch:
        batch.drop_column("routing")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("routed_turn")
        batch.drop_column("away_until")
        batch.drop_column("specialty_regions")
