"""The outbox: executions are written first and sent afterwards, so a crash in between loses nothing
(ARCHITECTURE.md, "Messages"). What a send fails keeps `dispatched_at` NULL for the next tick.

On PostgreSQL a batch is locked (`FOR UPDATE SKIP LOCKED`) from its SELECT to the UPDATE that stamps
it, so concurrent ticks never send the same execution twice. Delivery stays at least once either
way: a worker's conditional claim drops a duplicate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.db.models import Execution
from shared.queue import Dispatcher, DispatchResult, QueueMessage
from shared.scheduler import pg_batch

logger = logging.getLogger("flowbuilder.scheduler")

executions = Execution.__table__


@dataclass
class OutboxBatch:
    selected: int = 0
    sent: int = 0
    failed: int = 0


def dispatch_outbox_batch(engine: Engine, dispatcher: Dispatcher, now: datetime, batch_size: int) -> OutboxBatch:
    """Send the oldest undispatched executions (up to `batch_size`) and stamp those sent: a SELECT,
    the dispatch, and one UPDATE, in one transaction."""
    with engine.begin() as conn:
        rows = conn.execute(_undispatched(batch_size)).all()
        if not rows:
            return OutboxBatch()
        messages = [QueueMessage(row.id, row.attempt, row.lane) for row in rows]
        result = _send(dispatcher, messages)
        sent = [message.execution_id for message in result.sent]
        if sent and conn.dialect.name == "postgresql":
            pg_batch.stamp_dispatched(conn, sent, now)
        elif sent:
            conn.execute(
                executions.update()
                .where(executions.c.id.in_(sent), executions.c.dispatched_at.is_(None))
                .values(dispatched_at=now)
            )
    if result.failed:
        logger.warning("outbox: %d of %d message(s) not sent; retrying next tick", len(result.failed), len(messages))
    return OutboxBatch(selected=len(rows), sent=len(sent), failed=len(result.failed))


def _undispatched(batch_size: int) -> sa.Select:
    return (
        sa.select(executions.c.id, executions.c.attempt, executions.c.lane)
        .where(executions.c.status == "queued", executions.c.dispatched_at.is_(None))
        .order_by(executions.c.queued_at)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )


def _send(dispatcher: Dispatcher, messages: list[QueueMessage]) -> DispatchResult:
    """A dispatcher that raises has sent nothing we can prove: every message counts as failed."""
    try:
        return dispatcher.dispatch(messages)
    except Exception:
        logger.exception("outbox: dispatching %d message(s) raised", len(messages))
        return DispatchResult(sent=[], failed=list(messages))
