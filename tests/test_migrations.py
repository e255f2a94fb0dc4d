"""Migrations build the same schema as the models, from an empty database, on both databases."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from learning import create_app
from learning.extensions import db as _db


def test_upgrade_to_head_matches_the_models_and_downgrades_cleanly(empty_database_url, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
        with _db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, _db.metadata)
        assert diff == [], f"the migrations and the models differ: {diff}"
        tables = set(sa.inspect(_db.engine).get_table_names())
        assert {"organisation", "member", "account", "role_grant", "api_token"} <= tables

        downgrade(revision="base")
        assert set(sa.inspect(_db.engine).get_table_names()) <= {"alembic_version"}
        _db.engine.dispose()
