"""the customer's voice: feedback and its history, satisfaction surveys, voice settings per
team, member days and care gestures; an index for key customers gone quiet

Revision ID: 0018_customer_voice
Revises: 0017_scale
Create Date: 2026-12-02 11:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_customer_voice"
down_revision = "0017_scale"
branch_labels = None
depends_on = None


def _enum(*values, name):
    return sa.Enum(*values, name=name, native_enum=False, length=20)


def upgrade():
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("rep_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id")),
        sa.Column("scale", _enum("stars", "nps", name="survey_scale"), nullable=False),
        sa.Column("reason", _enum("won_deal", "revisit", "complaint", "other",
                                  name="survey_reason"), nullable=False),
        sa.Column("nonce", sa.String(40), nullable=False, unique=True),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime()),
        sa.Column("score", sa.Integer()),
        sa.Column("comment", sa.Text()),
    )
    op.create_index("ix_surveys_customer_created", "surveys", ["customer_id", "created_at"])
    op.create_index("ix_surveys_rep_created", "surveys", ["rep_id", "created_at"])
    op.create_index("ix_surveys_team_id", "surveys", ["team_id"])

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", _enum("complaint", "suggestion", "praise", name="feedback_kind"),
                  nullable=False),
        sa.Column("channel", _enum("phone", "wechat", "email", "visit", "survey",
                                   name="feedback_channel"), nullable=False),
        sa.Column("severity", _enum("high", "normal", "low", name="feedback_severity"),
                  nullable=False),
        sa.Column("status", _enum("open", "in_progress", "resolved", "closed",
                                  name="feedback_status"), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("resolution", sa.Text()),
        sa.Column("assignee_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("deadline_episode", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("resolved_at", sa.DateTime()),
        sa.Column("closed_at", sa.DateTime()),
        sa.Column("valuable", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("valuable_note", sa.String(300)),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("surveys.id", ondelete="SET NULL")),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_feedback_status_due", "feedback", ["status", "due_at"])
    op.create_index("ix_feedback_customer_received", "feedback", ["customer_id", "received_at"])
    op.create_index("ix_feedback_assignee_id", "feedback", ["assignee_id"])
    op.create_index("ix_feedback_received_id", "feedback", ["received_at", "id"])
    op.create_index("ix_feedback_valuable_received", "feedback", ["valuable", "received_at"])
    op.create_index("ix_customers_tier_last_contact", "customers",
                    ["tier", "last_contact_at", "id"])

    op.create_table(
        "feedback_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("feedback_id", sa.Integer(), sa.ForeignKey("feedback.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("from_value", sa.String(100)),
        sa.Column("to_value", sa.String(100)),
        sa.Column("note", sa.Text()),
        sa.Column("by_user_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_feedback_events_feedback_id", "feedback_events", ["feedback_id"])
    op.create_index("ix_feedback_events_customer_at", "feedback_events", ["customer_id", "at"])

    op.create_table(
        "voice_settings",
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id", ondelete="CASCADE"),
                  primary_key=True),
        *[sa.Column(name, sa.Integer(), nullable=False, server_default=str(default))
          for name, default in (("high_hours", 24), ("normal_hours", 72), ("low_days", 7))],
        sa.Column("survey_scale", sa.String(10), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False, server_default=str(default))
          for name, default in (("survey_days", 14), ("low_score_stars", 2),
                                ("low_score_nps", 6), ("silent_days", 60))],
    )

    op.create_table(
        "member_days",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("day_of_month", sa.Integer(), nullable=False),
        sa.Column("offer", sa.Text(), nullable=False),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_member_days_team_id", "member_days", ["team_id"])

    op.create_table(
        "care_gestures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", _enum("greeting", "gift", name="gesture_kind"), nullable=False),
        sa.Column("occasion", _enum("birthday", "member_day", "thanks", "other",
                                    name="care_occasion"), nullable=False),
        sa.Column("what", sa.String(200), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("member_day_id", sa.Integer(),
                  sa.ForeignKey("member_days.id", ondelete="SET NULL")),
        sa.Column("by_user_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_care_gestures_customer_at", "care_gestures", ["customer_id", "at"])


def downgrade():
    op.drop_index("ix_customers_tier_last_contact", "customers")
    op.drop_table("care_gestures")
    op.drop_table("member_days")
    op.drop_table("voice_settings")
    op.drop_table("feedback_events")
    op.drop_table("feedback")
    op.drop_table("surveys")
