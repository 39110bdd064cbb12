"""`ExecutionStore` on the SQLModel tables. The runner's writes are its hot path: one short
transaction on SQLite, one prepared statement on PostgreSQL (see `pg_write`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine

from shared.credits import charge_steps, charged_steps
from shared.db import execution_claim, pg_write
from shared.db.models import Execution, ExecutionEvent, StepRun, WorkflowVersion
from shared.engine.errors import ExecutionNotFound
from shared.engine.store import ClaimedExecution, ExecutionRecord, StepRecord, StepWrite, WriteBatch

executions = Execution.__table__
steps = StepRun.__table__
events = ExecutionEvent.__table__
versions = WorkflowVersion.__table__

STEP_UPDATE_COLUMNS = ("node_type", "status", "attempt", "input", "output", "error", "finished_at", "credits")


class SqlExecutionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self, execution_id: uuid.UUID) -> ExecutionRecord:
        query = (
            sa.select(executions, versions.c.definition)
            .join(
                versions,
                (versions.c.workflow_id == executions.c.workflow_id) & (versions.c.version == executions.c.version),
            )
            .where(executions.c.id == execution_id)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise ExecutionNotFound(str(execution_id))
        return execution_claim.execution_record(row)

    def claim(self, execution_id: uuid.UUID, worker_id: str) -> bool:
        now = datetime.now(UTC)
        statement = (
            executions.update()
            .where(executions.c.id == execution_id, executions.c.status == "queued")
            .values(
                status="running",
                worker_id=worker_id,
                heartbeat_at=now,
                started_at=sa.func.coalesce(executions.c.started_at, now),
            )
        )
        with self.engine.begin() as conn:
            return conn.execute(statement).rowcount == 1

    def claim_and_load(self, execution_id: uuid.UUID, worker_id: str) -> ClaimedExecution | None:
        if self.engine.dialect.name == "postgresql":
            return execution_claim.claim_and_load_postgresql(self.engine, execution_id, worker_id)
        return execution_claim.claim_and_load_sqlite(self.engine, execution_id, worker_id)

    def step_records(self, execution_id: uuid.UUID) -> dict[str, StepRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(steps).where(steps.c.execution_id == execution_id)).mappings()
            return {row["node_id"]: execution_claim.step_record(row) for row in rows}

    def last_seq(self, execution_id: uuid.UUID) -> int:
        with self.engine.connect() as conn:
            query = sa.select(sa.func.max(events.c.seq)).where(events.c.execution_id == execution_id)
            return conn.execute(query).scalar() or 0

    def write(self, execution_id: uuid.UUID, batch: WriteBatch) -> bool:
        if self.engine.dialect.name == "postgresql":
            return self._write_postgresql(execution_id, batch)
        step_writes = _last_write_per_node(batch.steps)
        with self.engine.begin() as conn:
            if step_writes:
                conn.execute(_sqlite_steps_upsert(), _step_rows(execution_id, step_writes))
            if batch.events:
                conn.execute(events.insert(), _event_rows(execution_id, batch))
            charges = charged_steps(step_writes)
            if charges:
                charge_steps(conn, execution_id, charges)
            update = _execution_update(batch.execution is not None)
            return bool(conn.execute(update, _execution_values(execution_id, batch)).scalar())

    def _write_postgresql(self, execution_id: uuid.UUID, batch: WriteBatch) -> bool:
        step_writes = _last_write_per_node(batch.steps)
        charges = charged_steps(step_writes)
        sql = pg_write.write_sql(len(step_writes), len(batch.events), batch.execution is not None, len(charges))
        row = execution_claim.autocommit_row(
            self.engine, sql, pg_write.write_params(execution_id, batch, step_writes, charges)
        )
        return bool(row and row["cancel_requested"])


@lru_cache(maxsize=2)
def _execution_update(final: bool) -> sa.Update:
    """Built once per shape, so SQLAlchemy's compiled cache is hit without rebuilding the statement."""
    values = {"heartbeat_at": sa.bindparam("new_heartbeat_at", type_=executions.c.heartbeat_at.type)}
    if final:
        for name in ("status", "output", "error", "credits_used", "finished_at"):
            values[name] = sa.bindparam(f"new_{name}", type_=executions.c[name].type)
    return (
        executions.update()
        .where(executions.c.id == sa.bindparam("execution_id", type_=executions.c.id.type))
        .values(**values)
        .returning(executions.c.cancel_requested)
    )


def _execution_values(execution_id: uuid.UUID, batch: WriteBatch) -> dict:
    values: dict = {"execution_id": execution_id, "new_heartbeat_at": datetime.now(UTC)}
    if batch.execution is not None:
        state = batch.execution
        values.update(
            new_status=state.status,
            new_output=state.output,
            new_error=state.error,
            new_credits_used=state.credits_used,
            new_finished_at=state.finished_at,
        )
    return values


@lru_cache(maxsize=1)
def _sqlite_steps_upsert() -> sa.Insert:
    """One statement run once per row (executemany): a multi-row VALUES would be a new statement
    for every batch, and compiling it cost more than the write."""
    statement = sqlite.insert(steps)
    update = {column: statement.excluded[column] for column in STEP_UPDATE_COLUMNS}
    update["started_at"] = sa.func.coalesce(statement.excluded.started_at, steps.c.started_at)
    return statement.on_conflict_do_update(index_elements=["execution_id", "node_id"], set_=update)


def _step_rows(execution_id: uuid.UUID, writes: list[StepWrite]) -> list[dict]:
    return [
        {
            "id": uuid.uuid4(),
            "execution_id": execution_id,
            "node_id": write.node_id,
            "node_type": write.node_type,
            "status": write.status,
            "attempt": write.attempt,
            "input": write.input,
            "output": write.output,
            "error": write.error,
            "started_at": write.started_at,
            "finished_at": write.finished_at,
            "credits": write.credits,
        }
        for write in writes
    ]


def _event_rows(execution_id: uuid.UUID, batch: WriteBatch) -> list[dict]:
    return [
        {
            "id": uuid.uuid4(),
            "execution_id": execution_id,
            "seq": e.seq,
            "type": e.type,
            "payload": e.payload,
            "at": e.at,
        }
        for e in batch.events
    ]


def _last_write_per_node(writes: list[StepWrite]) -> list[StepWrite]:
    """A batch may start and finish the same step; only its final state needs writing."""
    latest: dict[str, StepWrite] = {}
    for write in writes:
        latest[write.node_id] = write
    return list(latest.values())
