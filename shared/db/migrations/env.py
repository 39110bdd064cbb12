"""Alembic environment: runs against the connection handed in by `shared.db.migrate`,
or against the configured database URL when called from the `alembic` command."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import shared.db.models  # noqa: F401  registers the tables
from shared.db.migrate import render_item

target_metadata = SQLModel.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from shared.db.session import create_db_engine
    from shared.settings import get_settings

    engine = create_db_engine(get_settings().resolved_database_url)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
