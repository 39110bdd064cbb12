"""Cold start of the Lambda entry (`api.handler`) against a bare FastAPI + Mangum app (bench/bare_app.py).

    python -m bench.api_import [--runs 15]

Each figure is a fresh interpreter: importing the module, and importing it then answering one
API Gateway event through its Mangum handler (the API: `GET /api/health` on an in-memory SQLite
database; the bare app: its one route). A run of `python -c pass` is subtracted, runs of the
commands alternate, and the median is reported. Goal: importing api.handler costs at most 1.5x
the bare app. The second figure shows what a cold start costs in all, whatever the import defers."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.report import Row, Section, at_most, emit

REPO = Path(__file__).resolve().parents[1]
GOAL = 1.5
API_PATH, BARE_PATH = "/api/health", "/api/workflows/bench"


def http_api_event(path: str) -> dict:
    """A minimal API Gateway HTTP API (payload 2.0) GET event, as Lambda hands it to Mangum."""
    http = {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"}
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "bench.local", "accept": "application/json"},
        "requestContext": {"http": http, "domainName": "bench.local", "stage": "$default", "requestId": "bench"},
        "isBase64Encoded": False,
    }


def answer(module: str, path: str) -> str:
    """Code that imports `module` and sends one event through its `handler`, failing unless 200."""
    return (
        f"import {module} as entry\n"
        f"reply = entry.handler({http_api_event(path)!r}, None)\n"
        "assert reply['statusCode'] == 200, reply\n"
    )


COMMANDS = {
    "baseline": "pass",
    "api import": "import api.handler",
    "bare import": "import bench.bare_app",
    "api answer": answer("api.handler", API_PATH),
    "bare answer": answer("bench.bare_app", BARE_PATH),
}


def run_once(code: str) -> float:
    """Seconds for a fresh interpreter to run `code`; raises if it fails."""
    env = {**os.environ, "FLOWBUILDER_DATABASE_URL": "sqlite://"}
    env.pop("AWS_LAMBDA_INITIALIZATION_TYPE", None)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(runs: int) -> dict[str, float]:
    """Median milliseconds per command, the interpreter's own start-up subtracted."""
    for code in COMMANDS.values():  # compile bytecode and warm the file cache; not counted
        run_once(code)
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, code in COMMANDS.items():
            samples[name].append(run_once(code))
    baseline = statistics.median(samples.pop("baseline"))
    return {name: (statistics.median(times) - baseline) * 1000 for name, times in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per command (default 15)")
    args = parser.parse_args()
    figures = measure(args.runs)
    print(
        f"api.handler import: {figures['api import']:.0f} ms, bare FastAPI+Mangum: {figures['bare import']:.0f} ms, "
        f"ratio {figures['api import'] / figures['bare import']:.2f}x (goal <= {GOAL}x)"
    )
    print(
        f"import + first response: api.handler {figures['api answer']:.0f} ms (GET {API_PATH}, in-memory SQLite), "
        f"bare FastAPI+Mangum {figures['bare answer']:.0f} ms, "
        f"ratio {figures['api answer'] / figures['bare answer']:.2f}x"
    )
    emit(section(figures))


def section(figures: dict[str, float]) -> Section:
    import_ratio = figures["api import"] / figures["bare import"]
    bare = "bare FastAPI + Mangum"
    rows = [
        Row(
            "cold import of `api.handler`",
            figures["api import"],
            "ms",
            peer=bare,
            peer_value=figures["bare import"],
            ratio=import_ratio,
            ratio_label="ours / bare",
            goal=f"<= {GOAL}x",
            met=at_most(import_ratio, GOAL),
        ),
        Row(
            f"cold import + first response (GET {API_PATH})",
            figures["api answer"],
            "ms",
            peer=bare,
            peer_value=figures["bare answer"],
            ratio=figures["api answer"] / figures["bare answer"],
            ratio_label="ours / bare",
        ),
    ]
    notes = ["Fresh interpreters, the interpreter's own start-up subtracted, medians."]
    return Section("API cold start", "python -m bench.api_import", rows, notes)


if __name__ == "__main__":
    main()
