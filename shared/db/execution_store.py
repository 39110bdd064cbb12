"""`ExecutionStore` on the SQLModel tables. The runner's writes are its hot path: one short
transaction on SQLite, one prepared statement on PostgreSQL (see `pg_write`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from shared.credits import charge_steps, charged_steps
from shared.db import pg_write
from shared.db.models import Execution, ExecutionEvent, StepRun, WorkflowVersion
from shared.engine.errors import ExecutionNotFound
from shared.engine.store import ExecutionRecord, StepRecord, StepWrite, WriteBatch

executions = Execution.__table__
steps = StepRun.__table__
events = ExecutionEvent.__table__
versions = WorkflowVersion.__table__

STEP_UPDATE_COLUMNS = ("node_type", "status", "attempt", "input", "output", "error", "finished_at", "credits")


class SqlExecutionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

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
        return ExecutionRecord(
            id=row["id"],
            workflow_id=row["workflow_id"],
            owner_id=row["owner_id"],
            version=row["version"],
            definition=row["definition"],
            input=row["input"] or {},
            status=row["status"],
            attempt=row["attempt"],
            trigger=row["trigger"],
            started_at=row["started_at"],
        )

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

    def step_records(self, execution_id: uuid.UUID) -> dict[str, StepRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(steps).where(steps.c.execution_id == execution_id)).mappings()
            return {
                row["node_id"]: StepRecord(
                    node_id=row["node_id"],
                    node_type=row["node_type"],
                    status=row["status"],
                    attempt=row["attempt"],
                    output=row["output"],
                    error=row["error"],
                    credits=row["credits"],
                )
                for row in rows
            }

    def last_seq(self, execution_id: uuid.UUID) -> int:
        with self.engine.connect() as conn:
            query = sa.select(sa.func.max(events.c.seq)).where(events.c.execution_id == execution_id)
            return conn.execute(query).scalar() or 0

    def write(self, execution_id: uuid.UUID, batch: WriteBatch) -> bool:
        if self.engine.dialect.name == "postgresql":
            return self._write_postgresql(execution_id, batch)
        with self.engine.begin() as conn:
            if batch.steps:
                conn.execute(self._steps_upsert(execution_id, batch.steps))
            if batch.events:
                conn.execute(events.insert(), _event_rows(execution_id, batch))
            charges = charged_steps(_last_write_per_node(batch.steps))
            if charges:
                charge_steps(conn, execution_id, charges)
            return bool(conn.execute(self._execution_update(execution_id, batch)).scalar())

    def _write_postgresql(self, execution_id: uuid.UUID, batch: WriteBatch) -> bool:
        step_writes = _last_write_per_node(batch.steps)
        charges = charged_steps(step_writes)
        sql = pg_write.write_sql(len(step_writes), len(batch.events), batch.execution is not None, len(charges))
        with self._autocommit.connect() as conn:
            result = conn.exec_driver_sql(sql, pg_write.write_params(execution_id, batch, step_writes, charges))
            return bool(result.scalar())

    def _execution_update(self, execution_id: uuid.UUID, batch: WriteBatch) -> sa.Update:
        values: dict = {"heartbeat_at": datetime.now(UTC)}
        if batch.execution is not None:
            state = batch.execution
            values.update(
                status=state.status,
                output=state.output,
                error=state.error,
                credits_used=state.credits_used,
                finished_at=state.finished_at,
            )
        return (
            executions.update()
            .where(executions.c.id == execution_id)
            .values(**values)
            .returning(executions.c.cancel_requested)
        )

    def _steps_upsert(self, execution_id: uuid.UUID, writes: list[StepWrite]):
        rows = [
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
            for write in _last_write_per_node(writes)
        ]
        statement = self._insert(steps).values(rows)
        update = {column: statement.excluded[column] for column in STEP_UPDATE_COLUMNS}
        update["started_at"] = sa.func.coalesce(statement.excluded.started_at, steps.c.started_at)
        return statement.on_conflict_do_update(index_elements=["execution_id", "node_id"], set_=update)


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
