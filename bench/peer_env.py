"""The peers' own virtual environment (bench/peers/.venv, made by `make bench-peers`): Prefect 3 and
Celery run there as subprocesses, so the product's dependencies stay clean."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

PEERS = Path(__file__).resolve().parent / "peers"
PYTHON = PEERS / ".venv" / "bin" / "python"


def available() -> bool:
    return PYTHON.exists()


def version(package: str) -> str | None:
    if not available():
        return None
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    result = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=False)
    return result.stdout.strip() or None


def run_json(script: str, *args: str, timeout: float = 1800) -> dict:
    """Run bench/peers/<script> with the peers' python; its last stdout line is JSON."""
    with tempfile.TemporaryDirectory(prefix="fb-bench-peer-") as home:
        env = {
            **os.environ,
            "PREFECT_HOME": home,  # a fresh Prefect database per run
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",  # a busy machine starts it slowly
            "DO_NOT_TRACK": "1",
            "PYTHONWARNINGS": "ignore",
        }
        result = subprocess.run(
            [PYTHON, PEERS / script, *args], cwd=PEERS, env=env, capture_output=True, text=True, timeout=timeout
        )
    if result.returncode != 0:
        raise RuntimeError(f"{script} failed: {result.stderr.strip()[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
