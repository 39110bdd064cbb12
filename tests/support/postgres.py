"""A PostgreSQL server for the test run: the one on 127.0.0.1:5432 when it answers, otherwise a
throwaway cluster started with Debian's pg_ctl in a temp dir. No server means a failed run."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class PostgresUnavailable(RuntimeError):
    pass


def _answers(url: str) -> bool:
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def _pg_bin(name: str) -> str | None:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _throwaway_cluster() -> Iterator[str]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        raise PostgresUnavailable(
            "no PostgreSQL answers on 127.0.0.1:5432 and no initdb/pg_ctl is installed "
            "(apt-get install postgresql, or set FLOWBUILDER_TEST_POSTGRES_URL)"
        )
    root = Path(tempfile.mkdtemp(prefix="fb-pg-"))
    data, port = root / "data", _free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True)  # noqa: E731
    run(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    run(pg_ctl, "-D", str(data), "-w", "-l", str(root / "log"), "-o", f"-p {port} -k {root} -h 127.0.0.1", "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(pg_ctl, "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields an admin URL (may create and drop databases)."""
    explicit = os.environ.get("FLOWBUILDER_TEST_POSTGRES_URL")
    if explicit:
        if not _answers(explicit):
            raise PostgresUnavailable(f"FLOWBUILDER_TEST_POSTGRES_URL={explicit} does not answer")
        yield explicit
    elif _answers(DEFAULT_ADMIN_URL):
        yield DEFAULT_ADMIN_URL
    else:
        with _throwaway_cluster() as url:
            yield url


@contextmanager
def scratch_database(admin_url: str, prefix: str = "fb_test") -> Iterator[str]:
    """A database of its own for this run, dropped afterwards, so runs never see each other's rows."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
