"""goals with their changes, generated team reports, and the team settings they need

Revision ID: 0013_goals_reports
Revises: 0012_reminders
Create Date: 2026-12-02 11:20:00

teams gain a time zone (days, weeks and months of its metrics), whether the leaderboard hides
amounts, and the local hours of its daily, weekly and monthly reports. New tables: goals,
goal_changes and report_runs. Indexes for counting follow-ups and ownership changes per
person and period.
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_goals_reports"
down_revision = "0012_reminders"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no table rebuild): SQLite would lose the teams' expression index.
    op.add_column("teams", sa.Column("timezone", sa.String(64), nullable=False,
                                     server_default="Asia/Shanghai"))
    op.add_column("teams", sa.Column("leaderboard_hides_amounts", sa.Boolean(),
                                     nullable=False, server_default=sa.false()))
    for name, default in (("report_daily_hour", "20"), ("report_weekly_day", "0"),
                          ("report_weekly_hour", "8"), ("report_monthly_hour", "8")):
        op.add_column("teams", sa.Column(name, sa.Integer(), nullable=False,
                                         server_default=default))

    # What the metrics count by person and period, read from indexes.
    op.create_index("ix_follow_ups_author_kind_occurred", "follow_ups",
                    ["author_id", "kind", "occurred_at"])
    op.create_index("ix_ownership_events_to_user_at", "ownership_events", ["to_user_id", "at"])
    op.create_index("ix_ownership_events_from_user_at", "ownership_events",
                    ["from_user_id", "at"])

    op.create_table(
        "goals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("metric", sa.String(40), nullable=False),
        sa.Column("period", sa.Enum("month", "quarter", "year", name="goal_period",
                                     native_enum=False, length=20), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("target", sa.Numeric(14, 2), nullable=False),
        sa.Column("weight", sa.Numeric(8, 2)),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_goals_team_period", "goals", ["team_id", "period_start"])
    op.create_index("ix_goals_user_id", "goals", ["user_id"])
    op.create_index("uq_goals_subject", "goals",
                    ["team_id", sa.text("coalesce(user_id, 0)"), "metric", "period",
                     "period_start"], unique=True)

    op.create_table(
        "goal_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("goal_id", sa.Integer(), sa.ForeignKey("goals.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("by_user_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("from_value", sa.String(40)),
        sa.Column("to_value", sa.String(40)),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_goal_changes_goal_id", "goal_changes", ["goal_id"])

    op.create_table(
        "report_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.Enum("daily", "weekly", "monthly", name="report_kind",
                                   native_enum=False, length=20), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.Enum("queued", "running", "done", "failed", name="report_status",
                                     native_enum=False, length=20), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(300)),
        sa.Column("job_id", sa.String(60)),
        sa.Column("requested_by_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime()),
        sa.Column("finished_at", sa.DateTime()),
        sa.Column("data", sa.JSON()),
        sa.Column("file_name", sa.String(120)),
        sa.Column("file_data", sa.LargeBinary()),
        sa.UniqueConstraint("team_id", "kind", "period_start", name="uq_report_runs_period"),
    )
    op.create_index("ix_report_runs_team_id", "report_runs", ["team_id"])


def downgrade():
    op.drop_table("report_runs")
    op.drop_table("goal_changes")
    op.drop_table("goals")
    op.drop_index("ix_ownership_events_from_user_at", "ownership_events")
    op.drop_index("ix_ownership_events_to_user_at", "ownership_events")
    op.drop_index("ix_follow_ups_author_kind_occurred", "follow_ups")
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+), again without rebuilding the table.
    for column in ("report_monthly_hour", "report_weekly_hour", "report_weekly_day",
                   "report_daily_hour", "leaderboard_hides_amounts", "timezone"):
        op.drop_column("teams", column)
