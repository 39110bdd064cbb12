"""The scheduler dispatch benchmark at a tiny size, so it never rots; figures are not judged here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_scheduler_dispatch_benchmark_runs_and_reports_each_size(postgres_admin_url):
    result = subprocess.run(
        [sys.executable, "-m", "bench.scheduler_dispatch", "--sizes", "20", "--admin-url", postgres_admin_url],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert re.search(r"^20 due: \d+\.\d s, \d+ round trips, 2 SQS calls$", result.stdout, re.MULTILINE)
