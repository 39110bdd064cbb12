"""The database a benchmark runs on: the URL given, or a scratch database on the local PostgreSQL
(dropped afterwards), migrated either way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy.engine import Engine

from shared.db.migrate import upgrade
from shared.db.session import create_db_engine


@contextmanager
def benchmark_database(url: str | None) -> Iterator[tuple[Engine, str]]:
    """Yields (engine, url)."""
    with ExitStack() as stack:
        if url is None:
            from tests.support.postgres import postgres_server, scratch_database

            url = stack.enter_context(scratch_database(stack.enter_context(postgres_server()), prefix="fb_bench"))
        engine = create_db_engine(url)
        stack.callback(engine.dispose)
        upgrade(engine)
        yield engine, url
