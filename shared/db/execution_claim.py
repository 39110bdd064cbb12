"""A worker's claim of an execution and the reads its run starts from, in one go.

On PostgreSQL one statement in autocommit: the conditional update (`queued` -> `running`, durable
like every claim) returns the execution, and the same statement reads the version's definition,
the last event's `seq` and the steps of earlier attempts; the SQL is fixed, so psycopg prepares it
(after its `prepare_threshold` uses).
Separately that was four round trips, three of them in transactions of their own. On SQLite (no
network in between) the same reads follow the update in its transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.db.models import Execution, ExecutionEvent, StepRun, WorkflowVersion
from shared.engine.store import ClaimedExecution, ExecutionRecord, StepRecord

executions = Execution.__table__
steps = StepRun.__table__
events = ExecutionEvent.__table__
versions = WorkflowVersion.__table__

PG_CLAIM_AND_LOAD = """
WITH claimed AS (
    UPDATE executions
    SET status = 'running', worker_id = %(worker_id)s, heartbeat_at = %(now)s,
        started_at = COALESCE(started_at, %(now)s)
    WHERE id = %(id)s AND status = 'queued'
    RETURNING id, workflow_id, owner_id, version, input, status, attempt, trigger, started_at
)
SELECT c.id, c.workflow_id, c.owner_id, c.version, c.input, c.status, c.attempt, c.trigger, c.started_at,
    v.definition,
    (SELECT max(e.seq) FROM execution_events e WHERE e.execution_id = c.id) AS last_seq,
    (SELECT json_agg(json_build_object(
        'node_id', s.node_id, 'node_type', s.node_type, 'status', s.status, 'attempt', s.attempt,
        'output', s.output, 'error', s.error, 'credits', s.credits))
     FROM step_runs s WHERE s.execution_id = c.id) AS steps
FROM claimed c
LEFT JOIN workflow_versions v ON v.workflow_id = c.workflow_id AND v.version = c.version
"""


def claim_and_load_postgresql(engine: Engine, execution_id: uuid.UUID, worker_id: str) -> ClaimedExecution | None:
    params = {"id": execution_id, "worker_id": worker_id, "now": datetime.now(UTC)}
    row = autocommit_row(engine, PG_CLAIM_AND_LOAD, params)
    if row is None:
        return None
    step_rows = row["steps"] or []
    return ClaimedExecution(
        execution_record(row), row["last_seq"] or 0, {s["node_id"]: step_record(s) for s in step_rows}
    )


def claim_and_load_sqlite(engine: Engine, execution_id: uuid.UUID, worker_id: str) -> ClaimedExecution | None:
    claim, load, last_seq, step_rows = _sqlite_statements()
    now = datetime.now(UTC)
    with engine.begin() as conn:
        if conn.execute(claim, {"execution_id": execution_id, "worker_id": worker_id, "now": now}).rowcount != 1:
            return None
        row = conn.execute(load, {"execution_id": execution_id}).mappings().one()
        seq = conn.execute(last_seq, {"execution_id": execution_id}).scalar()
        found = conn.execute(step_rows, {"execution_id": execution_id}).mappings()
        return ClaimedExecution(execution_record(row), seq or 0, {s["node_id"]: step_record(s) for s in found})


def autocommit_row(engine: Engine, sql: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """Run one statement alone in autocommit on a pooled psycopg connection and return its first
    row. Straight on the driver: the worker's two statements per execution are fixed SQL, and
    SQLAlchemy's connection and result objects around them cost more than the statements' own work."""
    from psycopg.rows import dict_row

    pooled = engine.raw_connection()
    driver = pooled.driver_connection
    try:
        driver.autocommit = True
        with driver.cursor(row_factory=dict_row) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    except BaseException:
        if driver.broken:  # the server went away: a new connection next time, as SQLAlchemy would
            pooled.invalidate()
        raise
    finally:
        if not driver.broken:
            driver.autocommit = False
        pooled.close()


@lru_cache(maxsize=1)
def _sqlite_statements() -> tuple[sa.Update, sa.Select, sa.Select, sa.Select]:
    """Built once, so SQLAlchemy's compiled cache is hit without rebuilding them per claim."""
    execution_id = sa.bindparam("execution_id", type_=executions.c.id.type)
    now = sa.bindparam("now", type_=executions.c.started_at.type)
    claim = (
        executions.update()
        .where(executions.c.id == execution_id, executions.c.status == "queued")
        .values(
            status="running",
            worker_id=sa.bindparam("worker_id", type_=executions.c.worker_id.type),
            heartbeat_at=now,
            started_at=sa.func.coalesce(executions.c.started_at, now),
        )
    )
    load = (
        sa.select(executions, versions.c.definition)
        .outerjoin(
            versions,
            (versions.c.workflow_id == executions.c.workflow_id) & (versions.c.version == executions.c.version),
        )
        .where(executions.c.id == execution_id)
    )
    last_seq = sa.select(sa.func.max(events.c.seq)).where(events.c.execution_id == execution_id)
    step_rows = sa.select(steps).where(steps.c.execution_id == execution_id)
    return claim, load, last_seq, step_rows


def execution_record(row: Any) -> ExecutionRecord:
    """A version row that is gone reads as an empty definition: the run then fails as invalid."""
    return ExecutionRecord(
        id=row["id"],
        workflow_id=row["workflow_id"],
        owner_id=row["owner_id"],
        version=row["version"],
        definition=row["definition"] if row["definition"] is not None else {},
        input=row["input"] or {},
        status=row["status"],
        attempt=row["attempt"],
        trigger=row["trigger"],
        started_at=row["started_at"],
    )


def step_record(row: Any) -> StepRecord:
    return StepRecord(
        node_id=row["node_id"],
        node_type=row["node_type"],
        status=row["status"],
        attempt=row["attempt"],
        output=row["output"],
        error=row["error"],
        credits=row["credits"],
    )
