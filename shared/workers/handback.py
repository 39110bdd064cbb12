"""The execution-row transitions a worker makes around a run: beat, fail, hand back, re-dispatch."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.db.models import Execution, ExecutionEvent
from shared.engine.store import EventWrite
from shared.queue.dispatcher import Dispatcher
from shared.queue.messages import QueueMessage

logger = logging.getLogger("flowbuilder.worker")

executions = Execution.__table__
events = ExecutionEvent.__table__


def beat(engine: Engine, execution_id: uuid.UUID, worker_id: str) -> bool:
    """Refresh the heartbeat of an execution this worker still runs; False once it no longer does."""
    with engine.begin() as conn:
        return bool(
            conn.execute(
                executions.update()
                .where(
                    executions.c.id == execution_id,
                    executions.c.status == "running",
                    executions.c.worker_id == worker_id,
                )
                .values(heartbeat_at=datetime.now(UTC))
            ).rowcount
        )


def fail_if_running(engine: Engine, execution_id: uuid.UUID, error: str) -> EventWrite | None:
    """Mark a crashed execution failed, with a closing `run_finished` event; nothing if it is no
    longer running (it finished, or someone else took it over)."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        failed = conn.execute(
            executions.update()
            .where(executions.c.id == execution_id, executions.c.status == "running")
            .values(status="failed", error=error, finished_at=now, heartbeat_at=now)
        ).rowcount
        if not failed:
            return None
        last = conn.execute(sa.select(sa.func.max(events.c.seq)).where(events.c.execution_id == execution_id))
        event = EventWrite((last.scalar() or 0) + 1, "run_finished", {"status": "failed", "error": error}, now)
        row = {"id": uuid.uuid4(), "execution_id": execution_id, "seq": event.seq, "type": event.type}
        conn.execute(events.insert().values(**row, payload=event.payload, at=now))
    return event


def hand_back(engine: Engine, execution_id: uuid.UUID, lane: str | None = None) -> QueueMessage | None:
    """Return an interrupted execution to the outbox for its next attempt (`queued`, attempt + 1,
    not dispatched), moved to `lane` when given. Returns the message of that attempt, or None when
    the execution was no longer running."""
    values: dict = {"status": "queued", "dispatched_at": None, "worker_id": None, "attempt": executions.c.attempt + 1}
    if lane is not None:
        values["lane"] = lane
    with engine.begin() as conn:
        row = conn.execute(
            executions.update()
            .where(executions.c.id == execution_id, executions.c.status == "running")
            .values(**values)
            .returning(executions.c.attempt, executions.c.lane)
        ).first()
    if row is None:
        return None
    logger.info("execution %s: interrupted; handed back for attempt %d (%s lane)", execution_id, row.attempt, row.lane)
    return QueueMessage(execution_id, row.attempt, row.lane)


def redispatch(engine: Engine, dispatcher: Dispatcher, message: QueueMessage) -> bool:
    """Send a handed-back execution's message and stamp `dispatched_at`. What is not sent keeps
    `dispatched_at` NULL, so the scheduler's outbox sends it on its next tick."""
    try:
        sent = bool(dispatcher.dispatch([message]).sent)
    except Exception:
        logger.exception("execution %s: re-dispatch raised; the outbox will send it", message.execution_id)
        return False
    if not sent:
        logger.warning("execution %s: re-dispatch failed; the outbox will send it", message.execution_id)
        return False
    with engine.begin() as conn:
        conn.execute(
            executions.update()
            .where(
                executions.c.id == message.execution_id,
                executions.c.status == "queued",
                executions.c.dispatched_at.is_(None),
            )
            .values(dispatched_at=datetime.now(UTC))
        )
    return True
