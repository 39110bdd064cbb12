"""The API benchmarks run at a tiny size in the suite so they never rot; figures are not judged here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_bench(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, cwd=REPO, timeout=180, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_benchmark_compares_the_handler_with_a_bare_app():
    output = run_bench("bench.api_import", "--runs", "1")

    assert re.search(
        r"^api\.handler import: -?\d+ ms, bare FastAPI\+Mangum: -?\d+ ms, ratio -?\d+\.\d+x \(goal <= 1\.5x\)$",
        output,
        re.MULTILINE,
    )


def test_latency_benchmark_compares_get_workflow_with_a_bare_route(database_urls):
    output = run_bench(
        "bench.api_latency", "--requests", "5", "--warmup", "1", "--database-url", database_urls["postgresql"]
    )

    assert re.search(
        r"^api latency p50: \d+\.\d+ ms vs bare \d+\.\d+ ms, ratio \d+\.\d+x \(goal <= 2\.0x\)$", output, re.MULTILINE
    )
