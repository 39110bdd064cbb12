"""One schedule tick, the database half shared by the dev process's loop and the scheduler Lambda.

1. Read the gate; while it lies in the future, return without touching the database.
2. Queue the fire times of due schedules (`due`), batch by batch.
3. Send undispatched executions (`outbox`), batch by batch. On PostgreSQL a second connection
   starts sending while step 2 still claims later batches: `SKIP LOCKED` keeps the two apart, and
   the database and SQS waits overlap instead of adding up.
4. Set the gate to the next instant there is work: the earliest `next_run_at`, or a minute from now
   while something is left unsent; at the latest `IDLE_RECHECK` from now.

No lost wake-ups: the tick holds the gate before its first query and releases it at the end, which
keeps anything lowered in between. Work committed before a query is seen by it; work committed
later lowers the gate (its writer lowers after committing), and that value survives the release.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.db.models import Execution, Workflow
from shared.queue import Dispatcher
from shared.scheduler.due import claim_due_batch
from shared.scheduler.gate import NextWakeGate
from shared.scheduler.outbox import dispatch_outbox_batch

RETRY_UNSENT = timedelta(seconds=60)
"""How soon a tick comes back for executions a dispatch could not send."""
IDLE_RECHECK = timedelta(hours=1)
"""The longest the gate stays shut: bounds the cost of a wake-up nobody lowered the gate for."""
HOLD = timedelta(seconds=60)
"""The gate's value while a tick works: other ticks stand aside, and a crashed tick retries after it."""
DEFAULT_BATCH = 500
"""Workflows claimed, and executions sent, per transaction."""
CATCH_UP_WAIT_S = 0.02
"""How long the early sender waits for the next due batch when it has caught up."""

workflows = Workflow.__table__
executions = Execution.__table__


@dataclass
class TickReport:
    due: int = 0
    created: int = 0
    skipped_misfires: int = 0
    refused_credits: int = 0
    disabled_guest_schedules: int = 0
    dispatched: int = 0
    failed_dispatches: int = 0
    gate_closed: bool = False
    next_wake: datetime | None = None


def run_tick(
    engine: Engine,
    dispatcher: Dispatcher,
    gate: NextWakeGate,
    *,
    now: datetime | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> TickReport:
    now = now or datetime.now(UTC)
    wake = gate.read()
    if wake is not None and wake > now:
        return TickReport(gate_closed=True, next_wake=wake)
    gate.hold(now + HOLD)
    report = TickReport()
    if engine.dialect.name == "postgresql":
        queue_while_sending(engine, dispatcher, now, batch_size, report)
    else:
        queue_due_schedules(engine, now, batch_size, report)
    if not report.failed_dispatches:  # else the queue is in trouble: the next tick sends the rest
        send_outbox(engine, dispatcher, now, batch_size, report)
    report.next_wake = next_wake(engine, now)
    gate.release(report.next_wake)
    return report


def queue_due_schedules(engine: Engine, now: datetime, batch_size: int, report: TickReport) -> None:
    while True:
        batch = claim_due_batch(engine, now, batch_size)
        report.due += batch.due
        report.created += batch.created
        report.skipped_misfires += batch.skipped_misfires
        report.refused_credits += batch.refused_credits
        report.disabled_guest_schedules += batch.disabled_guest_schedules
        if batch.due < batch_size:
            return


def queue_while_sending(
    engine: Engine, dispatcher: Dispatcher, now: datetime, batch_size: int, report: TickReport
) -> None:
    """Queue due schedules here while a second thread (and connection) sends what is committed;
    what it has not sent when the queueing ends is left to the caller's `send_outbox`."""
    queued = threading.Event()
    sent = TickReport()

    def send_until_queued() -> None:
        while True:
            batch = dispatch_outbox_batch(engine, dispatcher, now, batch_size)
            sent.dispatched += batch.sent
            sent.failed_dispatches += batch.failed
            if batch.failed or queued.is_set():
                return
            if batch.selected < batch_size:
                queued.wait(CATCH_UP_WAIT_S)

    with ThreadPoolExecutor(1, thread_name_prefix="tick-outbox") as pool:
        sender = pool.submit(send_until_queued)
        try:
            queue_due_schedules(engine, now, batch_size, report)
        finally:
            queued.set()
        sender.result()
    report.dispatched += sent.dispatched
    report.failed_dispatches += sent.failed_dispatches


def send_outbox(engine: Engine, dispatcher: Dispatcher, now: datetime, batch_size: int, report: TickReport) -> None:
    """Batch after batch until the outbox is empty, or a send fails (the queue is in trouble: the
    failed messages would come first again, so they wait for the next tick)."""
    while True:
        batch = dispatch_outbox_batch(engine, dispatcher, now, batch_size)
        report.dispatched += batch.sent
        report.failed_dispatches += batch.failed
        if batch.failed or batch.selected < batch_size:
            return


def next_wake(engine: Engine, now: datetime) -> datetime:
    """The earliest of the next schedule (in the past while due ones remain, keeping the gate open)
    and, while something is unsent, a minute from now; `IDLE_RECHECK` from now when there is neither."""
    next_schedule = (
        sa.select(sa.func.min(workflows.c.next_run_at))
        .where(workflows.c.schedule_enabled.is_(True), workflows.c.status != "archived")
        .scalar_subquery()
    )
    unsent = (
        sa.select(executions.c.id).where(executions.c.status == "queued", executions.c.dispatched_at.is_(None)).exists()
    )
    with engine.connect() as conn:
        earliest, has_unsent = conn.execute(sa.select(next_schedule, unsent)).one()
    candidates = [now + IDLE_RECHECK]
    if earliest is not None:
        candidates.append(earliest)
    if has_unsent:
        candidates.append(now + RETRY_UNSENT)
    return min(candidates)
