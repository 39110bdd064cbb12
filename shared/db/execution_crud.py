"""Executions as plain functions over a session (no HTTP): owned lookups, listing, cancelling,
retry and resume, dispatching, events and the rows statistics are computed from.

Every lookup takes the owner, so another owner's execution is simply not found. Callers commit,
except `dispatch_executions`, which runs after the commit that made the executions visible.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from shared.db.crud import queue_execution
from shared.db.models import Execution, ExecutionEvent, StepRun, Workflow, WorkflowVersion
from shared.db.types import utcnow
from shared.queue.messages import QueueMessage

if TYPE_CHECKING:
    from shared.queue import Dispatcher

logger = logging.getLogger("flowbuilder.executions")

FINISHED = frozenset({"succeeded", "failed", "cancelled"})
RESUMABLE = frozenset({"failed", "cancelled"})


def owned_workflow(session: Session, owner_id: uuid.UUID, workflow_id: uuid.UUID) -> Workflow | None:
    return session.exec(select(Workflow).where(Workflow.id == workflow_id, Workflow.owner_id == owner_id)).first()


def owned_execution(session: Session, owner_id: uuid.UUID, execution_id: uuid.UUID) -> Execution | None:
    query = select(Execution).where(Execution.id == execution_id, Execution.owner_id == owner_id)
    return session.exec(query).first()


def workflow_version(session: Session, workflow_id: uuid.UUID, version: int) -> WorkflowVersion | None:
    query = select(WorkflowVersion).where(
        WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.version == version
    )
    return session.exec(query).first()


def workflow_by_webhook_hash(session: Session, token_hash: str) -> Workflow | None:
    return session.exec(select(Workflow).where(Workflow.webhook_token_hash == token_hash)).first()


def execution_by_idempotency_key(session: Session, workflow_id: uuid.UUID, key: str) -> Execution | None:
    query = select(Execution).where(Execution.workflow_id == workflow_id, Execution.idempotency_key == key)
    return session.exec(query).first()


def dispatch_executions(
    session: Session, dispatcher: Dispatcher | None, executions: Sequence[Execution]
) -> list[Execution]:
    """Send committed executions to their lane's queue and stamp the ones sent. Returns those not
    sent (no dispatcher, a failed send): they keep `dispatched_at` NULL for the tick's outbox."""
    if dispatcher is None or not executions:
        return list(executions)
    messages = [QueueMessage(execution.id, execution.attempt, execution.lane) for execution in executions]
    try:
        result = dispatcher.dispatch(messages)
    except Exception:
        logger.warning("dispatch failed; the outbox will send %d execution(s)", len(messages), exc_info=True)
        return list(executions)
    sent = {message.execution_id for message in result.sent}
    if sent:
        now = utcnow()
        if session.get_bind().dialect.name == "postgresql":
            # The stamp only spares the outbox a resend, and a resent message is dropped by the
            # worker's conditional claim: losing it in a crash is harmless, so skip the fsync.
            session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
        session.execute(
            sa.update(Execution)
            .where(col(Execution.id).in_(sent), col(Execution.dispatched_at).is_(None))
            .values(dispatched_at=now)
        )
        session.commit()
        for execution in executions:
            if execution.id in sent:
                execution.dispatched_at = now
    return [execution for execution in executions if execution.id not in sent]


def list_executions(
    session: Session,
    owner_id: uuid.UUID,
    *,
    workflow_id: uuid.UUID | None = None,
    status: str | None = None,
    trigger: str | None = None,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 20,
) -> tuple[list[Execution], int]:
    """A page newest first (queued_at, then id, both descending) after the `before` key, and
    how many executions match the filters in all."""
    filters: list[Any] = [Execution.owner_id == owner_id]
    if workflow_id is not None:
        filters.append(Execution.workflow_id == workflow_id)
    if status is not None:
        filters.append(Execution.status == status)
    if trigger is not None:
        filters.append(Execution.trigger == trigger)
    total = session.exec(select(func.count()).select_from(Execution).where(*filters)).one()
    query = select(Execution).where(*filters)
    if before is not None:
        queued_at, execution_id = before
        query = query.where(
            sa.or_(
                col(Execution.queued_at) < queued_at,
                sa.and_(col(Execution.queued_at) == queued_at, col(Execution.id) < execution_id),
            )
        )
    query = query.order_by(col(Execution.queued_at).desc(), col(Execution.id).desc()).limit(limit)
    return list(session.exec(query).all()), total


def step_runs(session: Session, execution_id: uuid.UUID) -> list[StepRun]:
    """An execution's steps in one query, in the order they started (not started last)."""
    query = (
        select(StepRun)
        .where(StepRun.execution_id == execution_id)
        .order_by(col(StepRun.started_at).is_(None), col(StepRun.started_at), col(StepRun.node_id))
    )
    return list(session.exec(query).all())


def request_cancel(session: Session, execution_id: uuid.UUID) -> str | None:
    """Cancel a queued execution at once (its queue message is then dropped by the claim) or flag a
    running one for its runner. Returns the status it is left in, or None when it had finished."""
    now = utcnow()
    cancelled = session.execute(
        sa.update(Execution)
        .where(Execution.id == execution_id, Execution.status == "queued")
        .values(status="cancelled", cancel_requested=True, finished_at=now, error="cancelled on request")
    )
    if cancelled.rowcount == 1:
        _append_event(session, execution_id, "run_finished", {"status": "cancelled", "error": "cancelled on request"})
        return "cancelled"
    flagged = session.execute(
        sa.update(Execution)
        .where(Execution.id == execution_id, Execution.status == "running")
        .values(cancel_requested=True)
    )
    return "running" if flagged.rowcount == 1 else None


def _append_event(session: Session, execution_id: uuid.UUID, type_: str, payload: dict[str, Any]) -> None:
    """Only for executions no runner holds (seq is otherwise the runner's to count)."""
    last = session.exec(select(func.max(ExecutionEvent.seq)).where(ExecutionEvent.execution_id == execution_id)).one()
    session.add(ExecutionEvent(execution_id=execution_id, seq=(last or 0) + 1, type=type_, payload=payload))
    session.flush()


def queue_follow_up(
    session: Session,
    parent: Execution,
    workflow: Workflow,
    *,
    trigger: str,
    lane: str,
    reuse_succeeded_steps: bool = False,
) -> Execution:
    """A new execution of the parent's version and input. With `reuse_succeeded_steps` (resume) the
    parent's succeeded steps are copied as succeeded, free of charge, so the runner re-uses their
    outputs and runs only what did not succeed."""
    child = queue_execution(
        session,
        workflow,
        trigger=trigger,
        input=parent.input,
        lane=lane,
        version=parent.version,
        parent_execution_id=parent.id,
    )
    if reuse_succeeded_steps:
        succeeded = session.exec(
            select(StepRun).where(StepRun.execution_id == parent.id, StepRun.status == "succeeded")
        ).all()
        session.add_all(
            StepRun(
                execution_id=child.id,
                node_id=step.node_id,
                node_type=step.node_type,
                status="succeeded",
                attempt=step.attempt,
                input=step.input,
                output=step.output,
                started_at=step.started_at,
                finished_at=step.finished_at,
                credits=0,
            )
            for step in succeeded
        )
        session.flush()
    return child


def execution_state(session: Session, execution_id: uuid.UUID) -> str | None:
    return session.exec(select(Execution.status).where(Execution.id == execution_id)).first()


def events_after(session: Session, execution_id: uuid.UUID, after: int, limit: int) -> list[ExecutionEvent]:
    query = (
        select(ExecutionEvent)
        .where(ExecutionEvent.execution_id == execution_id, ExecutionEvent.seq > after)
        .order_by(col(ExecutionEvent.seq))
        .limit(limit)
    )
    return list(session.exec(query).all())


def execution_figures_since(
    session: Session, since: datetime, *, owner_id: uuid.UUID, workflow_id: uuid.UUID | None = None
) -> list[sa.Row]:
    """(queued_at, status, credits_used, started_at, finished_at) of the executions queued since
    `since`: aggregated in Python, so the statistics read the same on SQLite and PostgreSQL."""
    filters: list[Any] = [Execution.owner_id == owner_id, col(Execution.queued_at) >= since]
    if workflow_id is not None:
        filters.append(Execution.workflow_id == workflow_id)
    query = sa.select(
        Execution.queued_at, Execution.status, Execution.credits_used, Execution.started_at, Execution.finished_at
    ).where(*filters)
    return list(session.execute(query).all())
