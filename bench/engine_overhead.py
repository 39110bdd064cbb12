"""Engine overhead per step, beside Prefect 3 and Celery: the same workflow shapes in each.

    python -m bench.engine_overhead [--linear 40 100] [--fan 10] [--runs 5] [--database-url URL] [--peers auto]

Shapes: `--linear N` is N sequential steps, each reading the previous step's output; `--fan W` is
a root, W parallel branches and a join (W + 2 steps). Our steps are `data.map` nodes run by the
engine, persisted to PostgreSQL (every step's row and events written as it goes); without
--database-url a scratch database on the local PostgreSQL is made and dropped. Timed: queueing the
execution, claiming it and running it to `succeeded`, divided by the steps. The nodes do almost
nothing, so that is what the engine costs a step. Goal: <= 2 ms/step, >= 10x below Prefect 3,
>= 3x below Celery.

Peers (bench/peers/, in their own venv; `--peers none` skips them, `auto` runs them when the venv
exists): Prefect 3 tasks in a flow on a local, temporary Prefect server with its default SQLite
database; Celery tasks as a chain (and a chain into a chord) on the local Redis, with a worker
started as a subprocess. Each figure is the median of --runs runs after one warm-up run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from sqlmodel import Session

from bench import peer_env
from bench.database import benchmark_database
from bench.peers.shapes import add_arguments, shapes, step_count
from bench.report import Row, Section, at_least, at_most, emit
from shared.db.crud import create_workflow, ensure_local_user, queue_execution
from shared.db.execution_store import SqlExecutionStore
from shared.engine.runner import WorkflowRunner
from shared.settings import Settings
from shared.vault import InMemoryCredentialProvider

GOAL_MS = 2.0
GOALS_X = {"Prefect 3": 10.0, "Celery": 3.0}
WINDMILL_REFERENCE = (
    "Outside reference, not measured here: Windmill's published benchmark (40 sequential ~10 ms tasks, "
    "end to end) reports about 31 ms/task for Hatchet, 52-110 ms for Windmill, 74 ms for Temporal and "
    "122 ms for Prefect 2."
)


def linear_definition(steps: int) -> dict:
    nodes = [{"id": "n0", "type": "data.map", "config": {"fields": {"value": "{{ input.start }}", "step": 0}}}]
    for i in range(1, steps):
        fields = {"value": f"{{{{ nodes.n{i - 1}.output.value }}}}", "step": i}
        nodes.append({"id": f"n{i}", "type": "data.map", "config": {"fields": fields}})
    edges = [{"from": f"n{i - 1}", "to": f"n{i}"} for i in range(1, steps)]
    return {"nodes": nodes, "edges": edges}


def fan_definition(width: int) -> dict:
    """A root, `width` branches reading it, and a join reading every branch."""
    nodes = [{"id": "root", "type": "data.map", "config": {"fields": {"value": "{{ input.start }}"}}}]
    branches = [f"b{i}" for i in range(width)]
    for branch in branches:
        nodes.append(
            {"id": branch, "type": "data.map", "config": {"fields": {"value": "{{ nodes.root.output.value }}"}}}
        )
    joined = {branch: f"{{{{ nodes.{branch}.output.value }}}}" for branch in branches}
    nodes.append({"id": "join", "type": "data.map", "config": {"fields": joined}})
    edges = [{"from": "root", "to": b} for b in branches] + [{"from": b, "to": "join"} for b in branches]
    return {"nodes": nodes, "edges": edges}


def definition(kind: str, size: int) -> dict:
    return linear_definition(size) if kind == "linear" else fan_definition(size)


async def measure(engine, kind: str, size: int, runs: int) -> list[float]:
    """ms/step of `runs` executions (after one warm-up): queue, claim and run each."""
    store = SqlExecutionStore(engine)
    runner = WorkflowRunner(store, settings=Settings(), credentials=InMemoryCredentialProvider())
    with Session(engine, expire_on_commit=False) as session:
        owner = ensure_local_user(session)
        workflow, _ = create_workflow(session, owner.id, f"bench-{kind}-{size}", definition(kind, size))
        session.commit()
    steps = step_count(kind, size)
    per_step = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        with Session(engine, expire_on_commit=False) as session:
            execution_id = queue_execution(session, workflow, trigger="api", input={"start": 1}).id
            session.commit()
        store.claim(execution_id, "bench")
        outcome = await runner.run(execution_id)
        elapsed = time.perf_counter() - started
        if outcome.status != "succeeded":
            raise SystemExit(f"benchmark run failed: {outcome.error}")
        per_step.append(elapsed * 1000 / steps)
    return per_step[1:]


def peer_figures(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Peer name -> shape name -> median ms/step; a peer that fails is reported and left out."""
    if args.peers == "none" or (args.peers == "auto" and not peer_env.available()):
        return {}
    shape_args = ["--runs", str(args.runs), "--linear", *map(str, args.linear), "--fan", *map(str, args.fan)]
    figures = {}
    for peer, script in (("Prefect 3", "prefect_flow.py"), ("Celery", "celery_flow.py")):
        try:
            samples = peer_env.run_json(script, *shape_args)
        except (RuntimeError, OSError) as exc:
            if args.peers == "required":
                raise SystemExit(str(exc)) from None
            print(f"{peer}: {exc}", file=sys.stderr)
            continue
        figures[peer] = {name: statistics.median(values) for name, values in samples.items()}
    return figures


def label(kind: str, size: int) -> str:
    return f"{size} sequential steps" if kind == "linear" else f"{size}-wide fan-out/fan-in ({size + 2} steps)"


def section(ours: dict[str, float], peers: dict[str, dict[str, float]], args, dialect: str) -> Section:
    result = Section("Engine overhead per step", "python -m bench.engine_overhead")
    for name, kind, size in shapes(args):
        ms = ours[name]
        measure = f"{label(kind, size)}, ms/step ({dialect})"
        compared = [(peer, figures[name]) for peer, figures in peers.items() if name in figures]
        if not compared:
            result.rows.append(Row(measure, ms, "ms", goal=f"<= {GOAL_MS:g} ms", met=at_most(ms, GOAL_MS)))
        for peer, theirs in compared:
            ratio, goal = theirs / ms, GOALS_X[peer]
            met = at_most(ms, GOAL_MS) and at_least(ratio, goal)
            result.rows.append(
                Row(
                    measure,
                    ms,
                    "ms",
                    peer=peer,
                    peer_value=theirs,
                    ratio=ratio,
                    ratio_label="below",
                    goal=f"<= {GOAL_MS:g} ms; >= {goal:g}x below",
                    met=met,
                )
            )
    result.notes.append(
        "Prefect 3: a local temporary server with its default database, SQLite (PREFECT_HOME in a scratch "
        "directory), default result/state persistence. Celery: Redis 127.0.0.1:6379 as broker and result "
        "backend, a prefork worker with one process per core."
    )
    if not peers:
        result.notes.append("Peers not run in this run (`make bench-peers` installs them).")
    result.notes.append(WINDMILL_REFERENCE)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--database-url", help="default: a scratch database on the local PostgreSQL")
    parser.add_argument("--peers", choices=["auto", "none", "required"], default="auto")
    args = parser.parse_args()
    ours = {}
    with benchmark_database(args.database_url) as (engine, _):
        dialect = engine.dialect.name
        for name, kind, size in shapes(args):
            per_step = asyncio.run(measure(engine, kind, size, args.runs))
            ours[name] = statistics.median(per_step)
            print(
                f"{label(kind, size)} x {args.runs} runs on {dialect}: median {ours[name]:.3f}, "
                f"best {min(per_step):.3f}, worst {max(per_step):.3f} ms/step",
                flush=True,
            )
    peers = peer_figures(args)
    for peer, figures in peers.items():
        for name, ms in figures.items():
            print(f"{peer} {name}: {ms:.3f} ms/step, {ms / ours[name]:.1f}x ours", flush=True)
    print(f"engine overhead: {max(ours.values()):.3f} ms/step")
    emit(section(ours, peers, args, dialect))


if __name__ == "__main__":
    main()
