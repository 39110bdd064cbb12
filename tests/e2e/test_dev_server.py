"""`flowbuilder dev` as a user runs it: a subprocess serving the API on a free port, printing its dev
API key, keeping that key across restarts, and stopping cleanly on SIGTERM."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.e2e.conftest import STOP_TIMEOUT_S


def test_the_dev_server_serves_the_api_with_its_printed_key(start_dev, tmp_path: Path) -> None:
    server = start_dev()
    key = server.printed_key()

    me = httpx.get(f"{server.url}/api/me", headers={"Authorization": f"Bearer {key}"}, timeout=5)
    anonymous = httpx.get(f"{server.url}/api/me", timeout=5)

    assert me.status_code == 200
    assert me.json()["kind"] == "local"
    assert anonymous.status_code == 401
    assert f"{server.url}/api/docs" in server.output()
    key_file = tmp_path / "data" / "dev-api-key"
    assert key_file.read_text().strip() == key
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_sigterm_stops_it_cleanly_and_a_restart_prints_the_same_key(start_dev) -> None:
    first = start_dev()
    key = first.printed_key()

    started = time.monotonic()
    assert first.terminate() == 0, first.output()
    assert time.monotonic() - started < STOP_TIMEOUT_S

    second = start_dev()
    assert second.printed_key() == key
    assert second.terminate() == 0, second.output()
