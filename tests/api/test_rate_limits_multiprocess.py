"""The guest limit is exact across API processes: two uvicorn processes in aws mode share the
counters in PostgreSQL, and 30 concurrent requests alternating between them let exactly 20 through."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from shared.db.migrate import upgrade
from shared.db.models import User
from shared.db.session import create_db_engine
from shared.identity.api_keys import issue_api_key
from tests.support.dev_server import free_port
from tests.support.postgres import scratch_database

ROOT = Path(__file__).resolve().parents[2]
GUEST_LIMIT = 20
UVICORN = (
    sys.executable,
    "-m",
    "uvicorn",
    "--factory",
    "api.app:create_app",
    "--host",
    "127.0.0.1",
    "--log-level",
    "warning",
)


@pytest.fixture(scope="module")
def shared_database(postgres_admin_url: str) -> Iterator[str]:
    with scratch_database(postgres_admin_url, prefix="fb_ratelimit") as url:
        engine = create_db_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="module")
def api_processes(shared_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOWBUILDER_")}
    env.update(
        FLOWBUILDER_MODE="aws",
        FLOWBUILDER_DATABASE_URL=shared_database,
        FLOWBUILDER_DATA_DIR=str(tmp_path_factory.mktemp("api-data")),
        FLOWBUILDER_RATE_LIMIT_STORE="database",
        FLOWBUILDER_RATE_LIMIT_GUEST_REQUESTS=str(GUEST_LIMIT),
    )
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(
            [*UVICORN, "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for process, url in zip(processes, urls, strict=True):
            _wait_healthy(process, url)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_healthy(process: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the API process exited early: {process.stderr.read().decode(errors='replace')}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the API at {url} did not become healthy")


def make_guest(database_url: str) -> str:
    engine = create_db_engine(database_url)
    try:
        with Session(engine) as session:
            guest = User(kind="guest", credits=25, trial_expires_at=datetime.now(UTC) + timedelta(days=3))
            session.add(guest)
            session.flush()
            key = issue_api_key(session, guest.id, "guest").key
            session.commit()
            return key
    finally:
        engine.dispose()


def wait_for_a_fresh_window(margin_s: float = 8.0) -> None:
    """Fixed windows start on the minute: don't let the burst straddle a boundary."""
    into_window = time.time() % 60
    if into_window > 60 - margin_s:
        time.sleep(60 - into_window + 0.2)


def test_the_guest_limit_is_exact_across_two_api_processes(api_processes, shared_database):
    key = make_guest(shared_database)
    headers = {"Authorization": f"Bearer {key}"}
    targets = [api_processes[n % 2] for n in range(30)]
    wait_for_a_fresh_window()

    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=40)) as client, ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(lambda url: client.get(f"{url}/api/me", headers=headers), targets))

    codes = [answer.status_code for answer in answers]
    assert codes.count(200) == GUEST_LIMIT
    assert codes.count(429) == 30 - GUEST_LIMIT
    served = {url for url, answer in zip(targets, answers, strict=True) if answer.status_code == 200}
    assert served == set(api_processes)  # both processes answered from the one shared budget
    assert all("retry-after" in answer.headers for answer in answers if answer.status_code == 429)
