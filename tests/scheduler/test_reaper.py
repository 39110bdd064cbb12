"""The reaper on SQLite and PostgreSQL: stale running executions go back to the outbox with
`attempt + 1` until the maximum, then fail saying why; dispatched ones nobody claimed are sent again.

The database is shared with other modules, so the clock is set in 2000 (no one else's rows are
that old) and assertions look at this module's own rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shared.db.crud import create_workflow
from shared.db.models import Execution, User, Workflow
from shared.queue import DispatchResult, QueueMessage
from shared.scheduler.reaper import reap

NOW = datetime(2000, 6, 1, 12, 0, tzinfo=UTC)
HELLO = {"nodes": [{"id": "hello", "type": "text.combine", "config": {"parts": ["hello"]}}], "edges": []}
LIMITS = {"stale_after_s": 120, "max_attempts": 3, "undispatched_after_s": 900}


class RecordingDispatcher:
    def __init__(self) -> None:
        self.sent: list[QueueMessage] = []

    def dispatch(self, messages):
        self.sent += messages
        return DispatchResult(sent=list(messages))


@pytest.fixture
def make_execution(engine: Engine) -> Iterator[Callable[..., uuid.UUID]]:
    """Executions of one workflow of this test, deleted afterwards."""
    with Session(engine) as session:
        owner = User(kind="user", credits=100)
        session.add(owner)
        session.flush()
        workflow, _ = create_workflow(session, owner.id, "reaped", HELLO)
        session.commit()
        workflow_id, owner_id = workflow.id, owner.id

    def make(status: str, *, attempt: int = 1, heartbeat_at=None, dispatched_at=None) -> uuid.UUID:
        execution_id = uuid.uuid4()
        with engine.begin() as conn:
            conn.execute(
                sa.insert(Execution).values(
                    id=execution_id,
                    workflow_id=workflow_id,
                    version=1,
                    owner_id=owner_id,
                    trigger="manual",
                    status=status,
                    input={},
                    attempt=attempt,
                    lane="light",
                    queued_at=NOW - timedelta(hours=1),
                    dispatched_at=dispatched_at,
                    heartbeat_at=heartbeat_at,
                    worker_id="worker-1" if status == "running" else None,
                )
            )
        return execution_id

    yield make
    with engine.begin() as conn:
        conn.execute(sa.delete(Execution).where(Execution.workflow_id == workflow_id))
        conn.execute(sa.delete(Workflow).where(Workflow.id == workflow_id))


def row(engine: Engine, execution_id: uuid.UUID) -> Execution:
    with Session(engine) as session:
        return session.get(Execution, execution_id)


def test_a_stale_running_execution_is_requeued_with_the_next_attempt(engine, make_execution):
    stale = make_execution("running", attempt=1, heartbeat_at=NOW - timedelta(seconds=121), dispatched_at=NOW)

    report = reap(engine, None, now=NOW, **LIMITS)

    assert stale in report.requeued
    execution = row(engine, stale)
    assert (execution.status, execution.attempt, execution.dispatched_at) == ("queued", 2, None)
    assert execution.worker_id is None


def test_a_running_execution_with_a_fresh_heartbeat_is_left_alone(engine, make_execution):
    fresh = make_execution("running", heartbeat_at=NOW - timedelta(seconds=119), dispatched_at=NOW)

    report = reap(engine, None, now=NOW, **LIMITS)

    assert fresh not in report.requeued + report.failed
    assert row(engine, fresh).status == "running"


def test_a_stale_execution_at_its_last_attempt_fails_saying_why(engine, make_execution):
    last = make_execution("running", attempt=3, heartbeat_at=NOW - timedelta(hours=1), dispatched_at=NOW)

    report = reap(engine, None, now=NOW, **LIMITS)

    assert last in report.failed
    execution = row(engine, last)
    assert execution.status == "failed"
    assert execution.error == "the worker stopped sending heartbeats 3 times; giving up"
    assert execution.finished_at == NOW


def test_a_dispatched_execution_nobody_claimed_goes_back_to_the_outbox(engine, make_execution):
    lost = make_execution("queued", dispatched_at=NOW - timedelta(seconds=901))
    recent = make_execution("queued", dispatched_at=NOW - timedelta(seconds=899))

    report = reap(engine, None, now=NOW, **LIMITS)

    assert lost in report.redispatched and recent not in report.redispatched
    assert row(engine, lost).dispatched_at is None
    assert row(engine, recent).dispatched_at == NOW - timedelta(seconds=899)


def test_many_stale_executions_are_reaped_in_batches(engine, make_execution):
    stale = [make_execution("running", heartbeat_at=NOW - timedelta(hours=1)) for _ in range(7)]

    report = reap(engine, None, now=NOW, batch_size=3, **LIMITS)

    assert set(stale) <= set(report.requeued)
    assert {row(engine, execution_id).attempt for execution_id in stale} == {2}


def test_with_a_dispatcher_what_was_put_back_is_sent_at_once(engine, make_execution):
    stale = make_execution("running", attempt=2, heartbeat_at=NOW - timedelta(hours=1))
    dispatcher = RecordingDispatcher()

    reap(engine, dispatcher, now=NOW, **LIMITS)

    assert QueueMessage(stale, 3, "light") in dispatcher.sent
    assert row(engine, stale).dispatched_at == NOW


def test_the_next_deadline_is_the_oldest_heartbeat_plus_the_stale_time(engine, make_execution):
    make_execution("running", heartbeat_at=NOW - timedelta(seconds=30))

    report = reap(engine, None, now=NOW, **LIMITS)

    assert report.next_deadline is not None
    assert report.next_deadline <= NOW + timedelta(seconds=90)
