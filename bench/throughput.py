"""Local throughput: webhook-triggered executions end to end, on the local product.

    python -m bench.throughput [--executions 3000] [--connections 32] [--databases postgresql sqlite]

Per database: `flowbuilder dev` as a subprocess (uvicorn, the in-process queue and the worker pool
in one process) on a scratch database (PostgreSQL on 127.0.0.1 or a SQLite file), a workflow
webhook -> `data.map` -> `logic.condition`, and this process as the load generator on loopback
(bench/loadgen.py: keep-alive connections, each sending its next delivery when the last is
answered). Every delivery carries its own number; the run ends when every execution is
`succeeded`. Checked: one execution per delivery (none lost, none duplicated: the numbers in their
inputs are exactly 0..N-1) and both steps of each succeeded. Throughput is executions divided by
the time from the first delivery to the last execution's `finished_at`. Goal: >= 220/s on
PostgreSQL (n8n's published figure for webhook -> Set on 2 vCPUs; stretch 400/s).

Then the API's read rate under the same uvicorn: authenticated `GET /api/workflows/{id}`.
Processes: the product (`--processes N` starts N of them on the same database, each taking the
deliveries of its share of the connections) and the load generator, all on the same cores. The
products' CPU time per execution is reported too: unlike the rate, it barely depends on what else
the machine is doing; so are PostgreSQL's and the load generator's (bench/cpu_budget.py), the
rest of the same two-core budget. `--profile FILE` records the (first) product with py-spy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.cpu_budget import DatabaseCpu, own_cpu_seconds
from bench.loadgen import http_request, run_load
from bench.report import Row, Section, at_least, emit
from shared.db.models import Execution, StepRun
from shared.db.session import create_db_engine

GOAL, STRETCH = 220.0, 400.0
REPO = Path(__file__).resolve().parents[1]
DEFINITION = {
    "nodes": [
        {
            "id": "order",
            "type": "data.map",
            "config": {"fields": {"number": "{{ input.body.n }}", "total": "{{ input.body.total }}"}},
        },
        {"id": "large", "type": "logic.condition", "config": {"expr": "nodes.order.output.total > 100"}},
    ],
    "edges": [{"from": "order", "to": "large"}],
}
UNLIMITED = str(10**9)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def dev_server(database_url: str, data_dir: Path) -> Iterator[tuple[str, str, int]]:
    """`flowbuilder dev` on a free port; yields (base URL, dev API key, pid)."""
    port = free_port()
    env = {
        **os.environ,
        "FLOWBUILDER_DATABASE_URL": database_url,
        "FLOWBUILDER_RATE_LIMIT_IP_REQUESTS": UNLIMITED,  # the limits' bookkeeping still runs
        "FLOWBUILDER_RATE_LIMIT_USER_REQUESTS": UNLIMITED,
        "FLOWBUILDER_RATE_LIMIT_USER_EXECUTIONS": UNLIMITED,
    }
    command = [sys.executable, "-m", "shared.cli", "dev", "--port", str(port), "--data-dir", str(data_dir)]
    log = open(data_dir.parent / f"{data_dir.name}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = Path(log.name).read_text()[-2000:]
                raise SystemExit(f"the dev server did not start:\n{tail}")
            time.sleep(0.2)
        yield base, (data_dir / "dev-api-key").read_text().strip(), process.pid
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def webhook(base: str, key: str, name: str = "throughput") -> tuple[uuid.UUID, str]:
    """Create the workflow and its webhook: (workflow id, webhook path)."""
    headers = {"Authorization": f"Bearer {key}"}
    created = httpx.post(
        f"{base}/api/workflows",
        headers=headers,
        json={"name": name, "definition": DEFINITION, "status": "active"},
    )
    created.raise_for_status()
    workflow_id = created.json()["id"]
    hook = httpx.post(f"{base}/api/workflows/{workflow_id}/webhook", headers=headers)
    hook.raise_for_status()
    return uuid.UUID(workflow_id), httpx.URL(hook.json()["url"]).path


def profile(pid: int, output: str) -> subprocess.Popen:
    """py-spy (installed by hand: it is not a dependency) sampling the product, as collapsed stacks."""
    command = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--output", output, "--rate", "100", "--gil"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def wait_for_executions(engine, workflow_id: uuid.UUID, count: int, timeout: float) -> dict[str, int]:
    """Poll until `count` executions of the workflow are finished (or `timeout`); statuses -> count."""
    query = (
        sa.select(Execution.status, sa.func.count())
        .where(Execution.workflow_id == workflow_id)
        .group_by(Execution.status)
    )
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            statuses = dict(conn.execute(query).all())
        finished = sum(n for status, n in statuses.items() if status in ("succeeded", "failed", "cancelled"))
        if finished >= count or time.monotonic() > deadline:
            return statuses
        time.sleep(0.1)


def check_and_time(engine, workflow_id: uuid.UUID, count: int) -> tuple[list[str], datetime | None]:
    """Problems found (lost, duplicated, unfinished steps), and the last execution's finish."""
    problems = []
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Execution.input, Execution.status, Execution.finished_at, Execution.error).where(
                Execution.workflow_id == workflow_id
            )
        ).all()
        steps = conn.execute(
            sa.select(sa.func.count())
            .select_from(StepRun)
            .join(Execution, Execution.id == StepRun.execution_id)
            .where(Execution.workflow_id == workflow_id, StepRun.status == "succeeded")
        ).scalar()
    numbers = [(row.input or {}).get("body", {}).get("n") for row in rows]
    if len(rows) != count:
        problems.append(f"{len(rows)} executions for {count} deliveries")
    if sorted(numbers, key=str) != sorted(range(count), key=str):
        missing = count - len(set(numbers) & set(range(count)))
        problems.append(f"{missing} deliveries without an execution, {len(numbers) - len(set(numbers))} duplicated")
    if steps != 2 * count:
        problems.append(f"{steps} succeeded steps for {count} executions (expected {2 * count})")
    not_succeeded = [row for row in rows if row.status != "succeeded"]
    if not_succeeded:
        errors = sorted({f"{row.status}: {row.error}" for row in not_succeeded})[:3]
        problems.append(f"{len(not_succeeded)} executions did not succeed ({'; '.join(errors)})")
    finishes = [utc(row.finished_at) for row in rows if row.finished_at is not None]
    return problems, max(finishes) if finishes else None


def measure(database_url: str, work: Path, args: argparse.Namespace) -> dict:
    """Start `args.processes` products on the database (one after the other: the first migrates),
    spread the load generator's connections over them, and check and time the executions."""
    engine = create_db_engine(database_url)
    try:
        with ExitStack() as servers:
            products = [
                servers.enter_context(dev_server(database_url, work / f"data-{i}")) for i in range(args.processes)
            ]
            base, key, _ = products[0]
            ports = [int(url.rsplit(":", 1)[1]) for url, _, _ in products]
            pids = [pid for _, _, pid in products]
            host = base.removeprefix("http://")
            workflow_id, path = webhook(base, key)
            warmup_id, warmup_path = webhook(base, key, "throughput warm-up")

            def delivery(hook: str, index: int) -> bytes:
                body = json.dumps({"n": index, "total": index % 200}).encode()
                return http_request("POST", hook, host, {"Content-Type": "application/json"}, body)

            asyncio.run(run_load("127.0.0.1", ports, lambda i: delivery(warmup_path, i), args.warmup, 4))
            wait_for_executions(engine, warmup_id, args.warmup, 60)
            profiler = profile(pids[0], args.profile) if args.profile else None
            database_cpu = DatabaseCpu(engine)
            database_cpu.start()
            cpu_before, own_before = sum(map(cpu_seconds, pids)), own_cpu_seconds()
            started = datetime.now(UTC)
            answers = asyncio.run(
                run_load("127.0.0.1", ports, lambda i: delivery(path, i), args.executions, args.connections)
            )
            statuses = wait_for_executions(engine, workflow_id, args.executions, args.timeout)
            cpu_ms = (sum(map(cpu_seconds, pids)) - cpu_before) * 1000 / args.executions
            loadgen_ms = (own_cpu_seconds() - own_before) * 1000 / args.executions
            database_ms = database_cpu.stop() * 1000 / args.executions
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(30)
            problems, last_finish = check_and_time(engine, workflow_id, args.executions)
            if answers.statuses != {202: args.executions}:
                problems.append(f"webhook answers: {answers.statuses}")
            seconds = (last_finish - started).total_seconds() if last_finish else float("nan")
            read = http_request("GET", f"/api/workflows/{workflow_id}", host, {"Authorization": f"Bearer {key}"})
            reads = asyncio.run(run_load("127.0.0.1", ports, lambda _: read, args.reads, args.connections))
            if reads.statuses != {200: args.reads}:
                problems.append(f"read answers: {reads.statuses}")
    finally:
        engine.dispose()
    return {
        "executions": args.executions,
        "statuses": statuses,
        "problems": problems,
        "seconds": seconds,
        "per_second": args.executions / seconds,
        "accepted_per_second": answers.per_second,
        "webhook_p50_ms": statistics.median(answers.latencies_ms),
        "cpu_ms_per_execution": cpu_ms,
        "database_cpu_ms_per_execution": database_ms if database_cpu.enabled else None,
        "database_sessions": database_cpu.sessions,
        "loadgen_cpu_ms_per_execution": loadgen_ms,
        "reads_per_second": reads.per_second,
        "read_p50_ms": statistics.median(reads.latencies_ms),
    }


@contextmanager
def database(kind: str, stack: ExitStack) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{stack.enter_context(tempfile.TemporaryDirectory(prefix='fb-bench-'))}/flowbuilder.db"
        return
    from tests.support.postgres import postgres_server, scratch_database

    with scratch_database(stack.enter_context(postgres_server()), prefix="fb_bench") as url:
        yield url


def _other_cpu(result: dict) -> str:
    parts = [f"load generator {result['loadgen_cpu_ms_per_execution']:.2f} ms"]
    if result["database_cpu_ms_per_execution"] is not None:
        parts.insert(
            0,
            f"PostgreSQL backends {result['database_cpu_ms_per_execution']:.2f} ms, "
            f"{result['database_sessions']} connections opened",
        )

    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=3000, help="webhook deliveries to time (default 3000)")
    parser.add_argument("--warmup", type=int, default=100, help="deliveries before timing (default 100)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections (default 32)")
    parser.add_argument("--reads", type=int, default=2000, help="GET requests for the read rate (default 2000)")
    parser.add_argument("--processes", type=int, default=1, help="product processes sharing the load (default 1)")
    parser.add_argument("--profile", metavar="FILE", help="record the product with py-spy (collapsed stacks)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the executions")
    parser.add_argument("--databases", nargs="+", choices=["postgresql", "sqlite"], default=["postgresql", "sqlite"])
    args = parser.parse_args()
    section = Section("Local throughput", "python -m bench.throughput")
    failed = False
    for kind in args.databases:
        with ExitStack() as stack:
            url = stack.enter_context(database(kind, stack))
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fb-bench-dev-")))
            result = measure(url, work, args)
        print(
            f"{kind}, {args.processes} product process(es): {result['executions']} webhook executions in "
            f"{result['seconds']:.2f} s = "
            f"{result['per_second']:.0f} executions/s (accepted {result['accepted_per_second']:.0f}/s, "
            f"webhook p50 {result['webhook_p50_ms']:.1f} ms, product CPU {result['cpu_ms_per_execution']:.2f} ms "
            f"per execution; {_other_cpu(result)}); reads {result['reads_per_second']:.0f}/s "
            f"(p50 {result['read_p50_ms']:.1f} ms); statuses {result['statuses']}",
            flush=True,
        )
        for problem in result["problems"]:
            print(f"{kind}: PROBLEM: {problem}", flush=True)
        failed = failed or bool(result["problems"])
        ok = not result["problems"]
        goal = f">= {GOAL:g}/s (stretch {STRETCH:g})" if kind == "postgresql" else "—"
        where = f"{kind}, {args.processes} product process{'es' if args.processes > 1 else ''}"
        section.rows.append(
            Row(
                f"webhook -> data.map -> logic.condition, completed executions/s ({where})",
                result["per_second"] if ok else None,
                "/s",
                goal=goal,
                met=(at_least(result["per_second"], GOAL) and ok) if kind == "postgresql" else None,
            )
        )
        section.rows.append(Row(f"product CPU per execution ({where})", result["cpu_ms_per_execution"], "ms", goal="—"))
        if result["database_cpu_ms_per_execution"] is not None:
            section.rows.append(
                Row(f"PostgreSQL CPU per execution ({where})", result["database_cpu_ms_per_execution"], "ms", goal="—")
            )
        section.rows.append(
            Row(f"load generator CPU per execution ({where})", result["loadgen_cpu_ms_per_execution"], "ms", goal="—")
        )
        section.rows.append(
            Row(
                f"authenticated GET /api/workflows/{{id}} under uvicorn, requests/s ({where})",
                result["reads_per_second"],
                "/s",
            )
        )
        lost = "none lost or duplicated" if ok else "; ".join(result["problems"])
        section.notes.append(f"{kind}: {result['executions']} deliveries over {args.connections} connections: {lost}.")
    section.notes.append(
        f"Processes: {args.processes + 1} on the same {os.cpu_count()} cores: {args.processes} of the product "
        "(`flowbuilder dev`: uvicorn, in-process queue, worker pool, schedule loop; each takes the deliveries of "
        "its own connections) and the load generator (bench/loadgen.py). n8n publishes up to 220 executions/s "
        "for webhook -> Set on a 2-vCPU instance (not measured here). Product CPU per execution is the "
        "products' user + system time over the timed deliveries divided by them: 1000 / that is what one "
        "product process could complete per second with a core to itself. PostgreSQL CPU is its backends' "
        "for the scratch database over the same time (bench/cpu_budget.py); the load generator's is this "
        "process's, its polling for finished executions included."
    )
    emit(section)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
