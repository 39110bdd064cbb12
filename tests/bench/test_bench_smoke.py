"""Each benchmark runs at a tiny size in the suite so it never rots; figures are not judged here.
Peers (bench/peers/.venv) run only where `make bench-peers` has made their venv; our side always."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import peer_env
from bench.report import parse

REPO = Path(__file__).resolve().parents[2]


def run_bench(*args: str, timeout: float = 180) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, cwd=REPO, timeout=timeout, check=False
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


def test_engine_overhead_reports_each_shape_per_step(database_urls):
    output = run_bench(
        "bench.engine_overhead",
        *("--linear", "4", "--fan", "3", "--runs", "1", "--peers", "none"),
        *("--database-url", database_urls["postgresql"]),
    )

    assert re.search(r"^4 sequential steps x 1 runs on postgresql: median \d+\.\d+", output, re.MULTILINE)
    assert re.search(r"^3-wide fan-out/fan-in \(5 steps\) x 1 runs on postgresql", output, re.MULTILINE)
    assert re.search(r"^engine overhead: \d+\.\d+ ms/step$", output, re.MULTILINE)
    [section] = parse(output)
    assert [row.measure for row in section.rows] == [
        "4 sequential steps, ms/step (postgresql)",
        "3-wide fan-out/fan-in (5 steps), ms/step (postgresql)",
    ]
    assert all(row.ours > 0 and row.peer == "" for row in section.rows)
    assert any("not measured here" in note for note in section.notes)


@pytest.mark.skipif(not peer_env.available(), reason="the peers' venv is not installed (make bench-peers)")
def test_engine_overhead_runs_the_same_shapes_in_prefect_and_celery(database_urls):
    output = run_bench(
        "bench.engine_overhead",
        *("--linear", "3", "--fan", "2", "--runs", "1", "--peers", "required"),
        *("--database-url", database_urls["postgresql"]),
        timeout=300,
    )

    [section] = parse(output)
    compared = {(row.measure.split(",")[0], row.peer) for row in section.rows}
    assert compared == {
        (shape, peer)
        for shape in ("3 sequential steps", "2-wide fan-out/fan-in (4 steps)")
        for peer in ("Prefect 3", "Celery")
    }
    assert all(row.peer_value > 0 and row.ratio == row.peer_value / row.ours for row in section.rows)


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_throughput_counts_every_webhook_execution_once(backend):
    output = run_bench(
        "bench.throughput",
        *("--executions", "30", "--warmup", "3", "--reads", "10", "--connections", "4", "--databases", backend),
    )

    assert re.search(
        rf"^{backend}, 1 product process\(es\): 30 webhook executions in \d+\.\d+ s = \d+ executions/s",
        output,
        re.MULTILINE,
    )
    assert "PROBLEM" not in output
    [section] = parse(output)
    assert section.rows[0].ours > 0
    assert section.notes[0] == f"{backend}: 30 deliveries over 4 connections: none lost or duplicated."
    measures = [row.measure for row in section.rows]
    assert f"load generator CPU per execution ({backend}, 1 product process)" in measures
    assert (f"PostgreSQL CPU per execution ({backend}, 1 product process)" in measures) == (backend == "postgresql")


def test_memory_reports_the_light_workers_peak(database_urls):
    output = run_bench("bench.memory", "--skip-browser", "--database-url", database_urls["postgresql"])

    [section] = parse(output)
    [light] = section.rows
    assert light.measure == "worker peak RSS, light workflow"
    assert 10 < light.ours < 2000
