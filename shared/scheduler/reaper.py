"""The reaper: executions a worker abandoned (ARCHITECTURE.md, "Execution semantics").

- Running, heartbeat older than `stale_after_s`: the worker died or lost its Spot task. Put back in
  the outbox (`queued`, `attempt + 1`, `dispatched_at` NULL) while `attempt < max_attempts`; the
  resumed run re-uses its succeeded steps. At `max_attempts` it is failed, saying why.
- Queued and dispatched longer than `undispatched_after_s` ago: the message never reached a worker
  (or its worker dropped it before the claim). `dispatched_at` NULL puts it back in the outbox.

Each kind is one `UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING id` per batch. A worker
whose heartbeat comes back after it was re-queued finds its execution no longer `running` as it
left it; the conditional claim keeps the second attempt single. The reaper runs after the tick,
only when the gate let the tick in, so it never wakes the database by itself: it lowers the gate to
the next instant something could become stale instead.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from shared.db.models import Execution
from shared.queue import Dispatcher

logger = logging.getLogger("flowbuilder.scheduler")

executions = Execution.__table__

BATCH = 500


@dataclass(frozen=True)
class ReaperLimits:
    stale_after_s: float = 600.0
    max_attempts: int = 3
    undispatched_after_s: float = 900.0

    @classmethod
    def from_settings(cls, settings) -> ReaperLimits:
        return cls(settings.reaper_stale_after_s, settings.reaper_max_attempts, settings.reaper_undispatched_after_s)


@dataclass
class ReapReport:
    requeued: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    redispatched: list[uuid.UUID] = field(default_factory=list)
    next_deadline: datetime | None = None
    """The earliest instant a running or dispatched execution can become stale; None: none can."""
    dispatched: int = 0
    failed_dispatches: int = 0

    @property
    def stale(self) -> int:
        return len(self.requeued) + len(self.failed)

    @property
    def reaped(self) -> int:
        return len(self.requeued) + len(self.failed) + len(self.redispatched)


def reap(
    engine: Engine,
    dispatcher: Dispatcher | None = None,
    *,
    now: datetime,
    stale_after_s: float,
    max_attempts: int,
    undispatched_after_s: float,
    batch_size: int = BATCH,
) -> ReapReport:
    """Put abandoned executions back in the outbox, or fail them; then, with a dispatcher, send the
    outbox at once (else the next tick does)."""
    stale_before = now - timedelta(seconds=stale_after_s)
    unclaimed_before = now - timedelta(seconds=undispatched_after_s)
    report = ReapReport()
    stale = (executions.c.status == "running", executions.c.heartbeat_at < stale_before)
    with engine.begin() as conn:
        report.failed = _update_all(
            conn,
            (*stale, executions.c.attempt >= max_attempts),
            {
                "status": "failed",
                "finished_at": now,
                "error": sa.literal("the worker stopped sending heartbeats ")
                + sa.cast(executions.c.attempt, sa.String)
                + sa.literal(" times; giving up"),
            },
            batch_size,
        )
        report.requeued = _update_all(
            conn,
            (*stale, executions.c.attempt < max_attempts),
            {
                "status": "queued",
                "attempt": executions.c.attempt + 1,
                "dispatched_at": None,
                "worker_id": None,
                "heartbeat_at": None,
            },
            batch_size,
        )
        report.redispatched = _update_all(
            conn,
            (executions.c.status == "queued", executions.c.dispatched_at < unclaimed_before),
            {"dispatched_at": None},
            batch_size,
        )
        report.next_deadline = _next_deadline(conn, stale_after_s, undispatched_after_s)
    if report.reaped:
        logger.warning(
            "reaper: %d stale execution(s) re-queued, %d failed, %d unclaimed dispatched again",
            len(report.requeued),
            len(report.failed),
            len(report.redispatched),
        )
    if dispatcher is not None and (report.requeued or report.redispatched):
        from shared.scheduler.tick import TickReport, send_outbox

        sent = TickReport()
        send_outbox(engine, dispatcher, now, batch_size, sent)
        report.dispatched, report.failed_dispatches = sent.dispatched, sent.failed_dispatches
    return report


def _update_all(conn: Connection, where: tuple, values: dict, batch_size: int) -> list[uuid.UUID]:
    """Batch after batch, one UPDATE ... RETURNING each, until no row matches."""
    ids: list[uuid.UUID] = []
    while True:
        chosen = sa.select(executions.c.id).where(*where).limit(batch_size)
        if conn.dialect.name == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True)
        statement = (
            executions.update()
            .where(executions.c.id.in_(chosen.scalar_subquery()))
            .values(values)
            .returning(executions.c.id)
        )
        batch = list(conn.execute(statement).scalars())
        ids += batch
        if len(batch) < batch_size:
            return ids


def _next_deadline(conn: Connection, stale_after_s: float, undispatched_after_s: float) -> datetime | None:
    oldest_heartbeat = (
        sa.select(sa.func.min(executions.c.heartbeat_at)).where(executions.c.status == "running").scalar_subquery()
    )
    oldest_dispatch = (
        sa.select(sa.func.min(executions.c.dispatched_at)).where(executions.c.status == "queued").scalar_subquery()
    )
    heartbeat, dispatched = conn.execute(sa.select(oldest_heartbeat, oldest_dispatch)).one()
    candidates = []
    if heartbeat is not None:
        candidates.append(_aware(heartbeat) + timedelta(seconds=stale_after_s))
    if dispatched is not None:
        candidates.append(_aware(dispatched) + timedelta(seconds=undispatched_after_s))
    return min(candidates, default=None)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
