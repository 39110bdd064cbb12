"""End-to-end fixtures: `flowbuilder dev` as a subprocess on a free port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dev_server import dev_command, free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT_S = 10


class DevServer:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWBUILDER_")}
        self.process = subprocess.Popen(
            dev_command(self.port, data_dir),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_until_healthy(self) -> None:
        wait_until_healthy(self.url, self.process, self.output)

    def printed_key(self) -> str:
        for line in self.lines:
            if match := re.search(r"API key:\s+(\S+)", line):
                return match.group(1)
        pytest.fail(f"no API key printed:\n{self.output()}")

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(STOP_TIMEOUT_S)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def start_dev(tmp_path: Path) -> Iterator:
    servers: list[DevServer] = []

    def start() -> DevServer:
        server = DevServer(tmp_path / "data")
        servers.append(server)
        server.wait_until_healthy()
        return server

    yield start
    for server in servers:
        server.kill()
