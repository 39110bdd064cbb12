"""Fixtures shared by every tier: the two databases every storage test runs against."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import Engine

from shared.db.migrate import upgrade
from shared.db.session import create_db_engine
from shared.settings import Settings
from tests.support.http_server import RecordingServer
from tests.support.postgres import PostgresUnavailable, postgres_server, scratch_database

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.exit(f"PostgreSQL is required for the storage tests: {exc}", returncode=1)


@pytest.fixture(scope="session")
def database_urls(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    sqlite_path = tmp_path_factory.mktemp("sqlite") / "flowbuilder.db"
    with scratch_database(postgres_admin_url) as pg_url:
        yield {"sqlite": f"sqlite:///{sqlite_path}", "postgresql": pg_url}


@pytest.fixture(scope="session")
def migrated_engines(database_urls: dict[str, str]) -> Iterator[dict[str, Engine]]:
    engines = {}
    for backend, url in database_urls.items():
        engine = create_db_engine(url)
        upgrade(engine)
        engines[backend] = engine
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, migrated_engines: dict[str, Engine]) -> Engine:
    """A migrated database, once per backend. Tests make their own rows with fresh ids."""
    return migrated_engines[request.param]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", egress_allow_private=True)


@pytest.fixture
def start_server() -> Iterator[Callable[..., RecordingServer]]:
    """Start a recording server on a given loopback address (127.0.0.1 unless told)."""
    servers: list[RecordingServer] = []

    def start(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> RecordingServer:
        server = RecordingServer(host, tls).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(start_server: Callable[..., RecordingServer]) -> RecordingServer:
    return start_server()
