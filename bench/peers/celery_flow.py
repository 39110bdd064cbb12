"""Celery side of bench/engine_overhead.py, run with bench/peers/.venv's python.

    python celery_flow.py [--runs 5] [--linear 40 100] [--fan 10]

Starts a worker as a subprocess (prefork pool, one process per core, the default) on a queue of
its own, on the local Redis (broker and result backend, db 13). A linear shape is a `chain` of
tasks, each passing its result on; the fan-out is a chain into a `chord` of 10 tasks and a join.
Wall time from `apply_async` to the final result, divided by the steps, is the per-step overhead.
Prints one JSON object: shape -> ms/step samples.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from shapes import add_arguments, shapes, step_count

HERE = Path(__file__).resolve().parent


def start_worker(queue: str) -> subprocess.Popen:
    env = {**os.environ, "BENCH_CELERY_QUEUE": queue}
    command = [sys.executable, "-m", "celery", "-A", "celery_tasks", "worker", "-Q", queue, "-l", "warning"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{queue}@%h"]
    return subprocess.Popen(command, cwd=HERE, env=env, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args()
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ["BENCH_CELERY_QUEUE"] = queue
    from celery import chain, chord
    from celery_tasks import app, join, step

    def workflow(kind: str, size: int):
        if kind == "linear":
            return chain(step.s(0), *[step.s() for _ in range(size - 1)]), size
        return chain(step.s(0), chord([step.s() for _ in range(size)], join.s())), 2 * size

    worker = start_worker(queue)
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5, destination=[f"{queue}@{os.uname().nodename}"]):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the celery worker did not start")
        results = {}
        for name, kind, size in shapes(args):
            samples = []
            for attempt in range(args.runs + 1):  # the first run warms up and is not counted
                signature, expected = workflow(kind, size)
                started = time.perf_counter()
                value = signature.apply_async().get(timeout=120)
                elapsed = time.perf_counter() - started
                if value != expected:
                    raise SystemExit(f"celery {name}: got {value}, expected {expected}")
                if attempt:
                    samples.append(elapsed * 1000 / step_count(kind, size))
            results[name] = samples
    finally:
        worker.terminate()
        worker.wait(30)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
