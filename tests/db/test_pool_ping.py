"""Pooled PostgreSQL connections are pinged only after sitting idle, and one cut while idle (the
database paused, a proxy timed out) is replaced without the caller seeing an error."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db import session as db_session
from shared.db.session import create_db_engine


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_cut_while_idle_is_replaced(database_urls, monkeypatch):
    engine = create_db_engine(database_urls["postgresql"])
    admin = create_db_engine(database_urls["postgresql"])
    try:
        first_pid = backend_pid(engine)
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
        monkeypatch.setattr(db_session, "IDLE_PING_AFTER_S", 0.0)

        second_pid = backend_pid(engine)

        assert second_pid != first_pid
    finally:
        engine.dispose()
        admin.dispose()


def test_a_connection_in_steady_use_is_not_pinged(database_urls):
    engine = create_db_engine(database_urls["postgresql"])
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        backend_pid(engine)
        statements.clear()
        backend_pid(engine)
        backend_pid(engine)
    finally:
        engine.dispose()

    assert statements == ["SELECT pg_backend_pid()"] * 2
