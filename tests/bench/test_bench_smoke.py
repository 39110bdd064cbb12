"""Each benchmark runs at a tiny size in the suite so it never rots; figures are not judged here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_engine_overhead_benchmark_runs_and_reports_per_step(database_urls):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.engine_overhead",
            "--steps",
            "5",
            "--runs",
            "1",
            "--database-url",
            database_urls["postgresql"],
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert re.search(r"^engine overhead: \d+\.\d+ ms/step$", result.stdout, re.MULTILINE)
