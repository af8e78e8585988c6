"""the built-in rubric is stored as version 1 here, so no page has to create it on first read

Revision ID: 0008_built_in_rubric
Revises: 0007_follow_up_submission_key
Create Date: 2026-12-02 08:30:00

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008_built_in_rubric"
down_revision = "0007_follow_up_submission_key"
branch_labels = None
depends_on = None

# The keys of crm.reviews.rubric.BUILT_IN as they were at this revision; a None label or
# level means "the built-in wording, in the reader's language".
ITEM_KEYS = ("opening", "needs_discovery", "presentation", "objection_handling", "closing",
             "next_step")

rubric_versions = sa.table(
    "rubric_versions",
    sa.column("number", sa.Integer), sa.column("items", sa.JSON),
    sa.column("created_at", sa.DateTime), sa.column("created_by_id", sa.Integer))


def upgrade():
    connection = op.get_bind()
    if connection.execute(sa.select(sa.func.count()).select_from(rubric_versions)).scalar():
        return  # an earlier release already stored it on first use
    op.bulk_insert(rubric_versions, [{
        "number": 1, "created_by_id": None,
        "created_at": datetime.now(UTC).replace(tzinfo=None),
        "items": [{"key": key, "label": None, "levels": [None] * 5} for key in ITEM_KEYS],
    }])


def downgrade():
    # Reviews may refer to version 1 by now; the earlier code reads it as it would its own.
    pass
