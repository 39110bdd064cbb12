"""Prefect 3 side of bench/engine_overhead.py, run with bench/peers/.venv's python.

    python prefect_flow.py [--runs 5] [--linear 40 100] [--fan 10]

Local Prefect with its defaults: no PREFECT_API_URL, so a temporary local server is started for
the run, storing flow and task run states in its default database (SQLite under PREFECT_HOME,
which the caller points at a scratch directory); results are persisted as Prefect's defaults say.
Each step is a task returning its input + 1; a flow runs the shape, and wall time of the flow call
divided by the steps is the per-step overhead. Prints one JSON object: shape -> ms/step samples.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

from prefect import flow, task
from shapes import add_arguments, shapes, step_count


@task
def step(value: int) -> int:
    return value + 1


@task
def join(values: list[int]) -> int:
    return sum(values)


@flow
def linear(size: int) -> int:
    value = 0
    for _ in range(size):
        value = step(value)
    return value


@flow
def fan(width: int) -> int:
    root = step(0)
    branches = [step.submit(root) for _ in range(width)]
    return join([branch.result() for branch in branches])


def main() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args()
    logging.getLogger("prefect").setLevel(logging.WARNING)
    results = {}
    for name, kind, size in shapes(args):
        run = linear if kind == "linear" else fan
        expected = size if kind == "linear" else 2 * size
        samples = []
        for attempt in range(args.runs + 1):  # the first run warms up (and starts the server) and is not counted
            started = time.perf_counter()
            value = run(size)
            elapsed = time.perf_counter() - started
            if value != expected:
                raise SystemExit(f"prefect {name}: got {value}, expected {expected}")
            if attempt:
                samples.append(elapsed * 1000 / step_count(kind, size))
        results[name] = samples
    print(json.dumps(results))


if __name__ == "__main__":
    main()
