"""Migrations build the schema the models describe, on both databases, and can be undone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import shared.db.models  # noqa: F401
from shared.db.migrate import current_revision, downgrade, upgrade
from shared.db.session import create_db_engine
from tests.support.postgres import scratch_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request, tmp_path, postgres_admin_url) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
    else:
        with scratch_database(postgres_admin_url, prefix="fb_migrate") as url:
            engine = create_db_engine(url)
            yield engine
            engine.dispose()


def test_upgrade_creates_every_table(empty_engine):
    upgrade(empty_engine)

    tables = set(sa.inspect(empty_engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    assert current_revision(empty_engine) is not None


def test_models_and_migrations_agree(empty_engine):
    upgrade(empty_engine)

    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)

    assert diff == []


def test_downgrade_to_base_removes_the_schema(empty_engine):
    upgrade(empty_engine)
    downgrade(empty_engine, "base")

    assert set(sa.inspect(empty_engine).get_table_names()) <= {"alembic_version"}


def test_upgrade_twice_is_a_no_op(empty_engine):
    upgrade(empty_engine)
    first = current_revision(empty_engine)
    upgrade(empty_engine)

    assert current_revision(empty_engine) == first


def test_hot_query_indexes_exist(empty_engine):
    upgrade(empty_engine)
    inspector = sa.inspect(empty_engine)

    def indexed(table: str) -> list[list[str]]:
        columns = [ix["column_names"] for ix in inspector.get_indexes(table)]
        columns += [uq["column_names"] for uq in inspector.get_unique_constraints(table)]
        return columns

    assert ["schedule_enabled", "next_run_at"] in indexed("workflows")
    assert ["execution_id", "seq"] in indexed("execution_events")
    assert ["execution_id", "node_id"] in indexed("step_runs")
    assert ["owner_id", "status", "queued_at"] in indexed("executions")
    assert ["status", "dispatched_at"] in indexed("executions")
