"""The schema changes only through migrations, and they agree with the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from cineflux.db import include_object, make_engine, schema_is_current, upgrade_schema
from cineflux.models import Base
from tests.conftest import fresh_database


def test_migrations_from_empty_match_the_models(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        engine = make_engine(url)
        try:
            assert not schema_is_current(engine)
            upgrade_schema(url)
            assert schema_is_current(engine)
            upgrade_schema(url)  # a second run is a no-op
            with engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"include_object": include_object}
                )
                diff = compare_metadata(context, Base.metadata)
                tables = set(inspect(connection).get_table_names())
            assert diff == []
            assert {"users", "web_sessions", "titles", "media_packages"} <= tables
        finally:
            engine.dispose()
