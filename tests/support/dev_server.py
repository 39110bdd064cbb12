"""What the tests that start servers share: a free port on 127.0.0.1, and the command and health
wait of `flowbuilder dev` as a subprocess."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

STARTUP_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dev_command(port: int, data_dir: Path) -> list[str]:
    return [sys.executable, "-m", "shared.cli", "dev", "--port", str(port), "--data-dir", str(data_dir)]


def wait_until_healthy(
    url: str, process: subprocess.Popen, output: Callable[[], str], timeout_s: float = STARTUP_TIMEOUT_S
) -> None:
    """Until `GET {url}/api/health` answers 200; fails the test, with the server's output, when the
    process exits first or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the dev server exited early:\n{output()[-3000:]}"
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the dev server never became healthy:\n{output()[-3000:]}")
