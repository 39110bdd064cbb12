"""Engine overhead per step: a linear workflow of `data.map` nodes, persisted to PostgreSQL.

    python -m bench.engine_overhead [--steps 100] [--runs 5] [--database-url URL]

Without --database-url it creates a scratch database on the local PostgreSQL and drops it after.
The node itself does almost nothing, so wall time / steps is what the engine costs a step:
templating, validation of the config, two transactions (start, finish), events. Goal: <= 2 ms."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from sqlmodel import Session

from bench.database import benchmark_database
from shared.db.crud import create_workflow, ensure_local_user, queue_execution
from shared.db.execution_store import SqlExecutionStore
from shared.engine.runner import WorkflowRunner
from shared.settings import Settings
from shared.vault import InMemoryCredentialProvider


def linear_definition(steps: int) -> dict:
    nodes = [{"id": "n0", "type": "data.map", "config": {"fields": {"value": "{{ input.start }}", "step": 0}}}]
    for i in range(1, steps):
        fields = {"value": f"{{{{ nodes.n{i - 1}.output.value }}}}", "step": i}
        nodes.append({"id": f"n{i}", "type": "data.map", "config": {"fields": fields}})
    edges = [{"from": f"n{i - 1}", "to": f"n{i}"} for i in range(1, steps)]
    return {"nodes": nodes, "edges": edges}


async def measure(engine, steps: int, runs: int) -> list[float]:
    store = SqlExecutionStore(engine)
    runner = WorkflowRunner(store, settings=Settings(), credentials=InMemoryCredentialProvider())
    with Session(engine, expire_on_commit=False) as session:
        owner = ensure_local_user(session)
        workflow, _ = create_workflow(session, owner.id, f"bench-{steps}", linear_definition(steps))
        session.commit()
    per_step = []
    for _ in range(runs + 1):  # the first run warms caches and is not counted
        with Session(engine, expire_on_commit=False) as session:
            execution_id = queue_execution(session, workflow, trigger="api", input={"start": 1}).id
            session.commit()
        store.claim(execution_id, "bench")
        started = time.perf_counter()
        outcome = await runner.run(execution_id)
        elapsed = time.perf_counter() - started
        if outcome.status != "succeeded":
            raise SystemExit(f"benchmark run failed: {outcome.error}")
        per_step.append(elapsed * 1000 / steps)
    return per_step[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", help="default: a scratch database on the local PostgreSQL")
    args = parser.parse_args()
    with benchmark_database(args.database_url) as (engine, _):
        per_step = asyncio.run(measure(engine, args.steps, args.runs))
    print(
        f"{args.steps} steps x {args.runs} runs on {engine.dialect.name}: "
        f"median {statistics.median(per_step):.3f}, best {min(per_step):.3f}, worst {max(per_step):.3f} ms/step"
    )
    print(f"engine overhead: {statistics.median(per_step):.3f} ms/step")


if __name__ == "__main__":
    main()
