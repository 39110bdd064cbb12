"""The store's PostgreSQL statements run straight on pooled driver connections
(shared.db.execution_claim.autocommit_row): a connection the server dropped is not handed out again."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from shared.db.execution_claim import autocommit_row
from shared.db.execution_store import SqlExecutionStore
from shared.db.session import create_db_engine
from shared.engine.store import ExecutionWrite, WriteBatch
from tests.engine.rows import execution_row


@pytest.fixture
def own_engine(harness):
    """An engine of its own on the test database, so cutting its connection touches no other test."""
    if harness.engine.dialect.name != "postgresql":
        pytest.skip("about PostgreSQL's connections")
    engine = create_db_engine(harness.engine.url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()


def test_a_write_on_a_dropped_connection_fails_once_and_the_next_uses_a_new_one(harness, own_engine):
    store = SqlExecutionStore(own_engine)
    execution_id = harness.queue({"nodes": [{"id": "a", "type": "test.echo"}]})
    assert store.claim_and_load(execution_id, "worker-1") is not None
    pid = autocommit_row(own_engine, "SELECT pg_backend_pid() AS pid", {})["pid"]
    with harness.engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    finished = WriteBatch(execution=ExecutionWrite("succeeded"))

    with pytest.raises(psycopg.OperationalError):
        store.write(execution_id, finished)
    assert store.write(execution_id, finished) is False

    assert execution_row(harness.engine, execution_id).status == "succeeded"
    assert autocommit_row(own_engine, "SELECT pg_backend_pid() AS pid", {})["pid"] != pid
