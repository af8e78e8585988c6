"""two teams under one parent (or two top-level teams) cannot share a name

Revision ID: 0009_team_names_unique
Revises: 0008_built_in_rubric
Create Date: 2026-12-04 09:00:00

A unique index on (coalesce(parent_id, 0), lower(name)): a plain unique constraint on
(parent_id, name) would let any number of top-level teams share a name, since NULLs never
compare equal. Both SQLite and PostgreSQL index expressions. Names that already clash are
made unique first by adding the team's number, "East (7)", so the index can be built; the
admin can rename them afterwards.
"""
import itertools

import sqlalchemy as sa
from alembic import op

revision = "0009_team_names_unique"
down_revision = "0008_built_in_rubric"
branch_labels = None
depends_on = None

INDEX = "uq_teams_parent_name"
NAME_LENGTH = 100

teams = sa.table("teams", sa.column("id", sa.Integer), sa.column("parent_id", sa.Integer),
                 sa.column("name", sa.String))


def _rename_clashes(connection) -> None:
    rows = connection.execute(sa.select(teams.c.id, teams.c.parent_id, teams.c.name)
                              .order_by(teams.c.id)).all()
    every_name = {(parent_id or 0, name.lower()) for _id, parent_id, name in rows}
    taken = set()
    renames = []
    for team_id, parent_id, name in rows:
        key = (parent_id or 0, name.lower())
        if key in taken:  # the oldest team keeps the name; the others get their number
            for attempt in itertools.count(1):
                suffix = f" ({team_id})" if attempt == 1 else f" ({team_id}-{attempt})"
                candidate = name[:NAME_LENGTH - len(suffix)] + suffix
                key = (parent_id or 0, candidate.lower())
                if key not in taken and key not in every_name:
                    break
            renames.append({"team_id": team_id, "new_name": candidate})
        taken.add(key)
    if renames:
        connection.execute(teams.update().where(teams.c.id == sa.bindparam("team_id"))
                           .values(name=sa.bindparam("new_name")), renames)


def upgrade():
    _rename_clashes(op.get_bind())
    op.create_index(INDEX, "teams", [sa.text("coalesce(parent_id, 0)"), sa.text("lower(name)")],
                    unique=True)


def downgrade():
    op.drop_index(INDEX, table_name="teams")
