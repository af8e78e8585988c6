"""The models and the migrations describe the same schema, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from crm.extensions import db

# Alembic works on connections of its own, and the downgrade drops every table.
pytestmark = pytest.mark.committed


def _differences(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "render_as_batch": True,
            # The search indexes (0017_scale) that the models do not declare.
            "include_name": app.extensions["migrate"].configure_args["include_name"]})
        return compare_metadata(context, db.metadata)


def test_models_match_migrations(app):
    assert _differences(app) == []


def test_migrations_go_down_and_up_again(app):
    with app.app_context():
        downgrade(revision="base")
        upgrade()
    assert _differences(app) == []
