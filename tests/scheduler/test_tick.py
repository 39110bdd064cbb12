"""The schedule tick on SQLite and PostgreSQL: due schedules become executions once, the outbox sends
them, and a shut gate keeps the database untouched.

The database is shared with other test modules, so the tick's clock is set in 2001 (no one else's
schedule is due then) and assertions look at this module's own rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from shared.db.crud import create_workflow, queue_execution
from shared.db.models import Execution, User, Workflow
from shared.queue import DispatchResult, QueueMessage
from shared.scheduler import FileGate
from shared.scheduler.tick import RETRY_UNSENT, next_wake, run_tick

NOON = datetime(2001, 3, 1, 10, 0, tzinfo=UTC)
NOW = NOON + timedelta(seconds=20)
HELLO = {"nodes": [{"id": "hello", "type": "text.combine", "config": {"parts": ["hello"]}}], "edges": []}


class RecordingDispatcher:
    """Sends everything, except the executions listed in `failing`."""

    def __init__(self) -> None:
        self.sent: list[QueueMessage] = []
        self.failing: set[uuid.UUID] = set()
        self.on_dispatch: Callable[[], None] | None = None

    def dispatch(self, messages: Sequence[QueueMessage]) -> DispatchResult:
        if self.on_dispatch is not None:
            self.on_dispatch()
        result = DispatchResult()
        for message in messages:
            (result.failed if message.execution_id in self.failing else result.sent).append(message)
        self.sent += result.sent
        return result

    def sent_ids(self) -> list[uuid.UUID]:
        return [message.execution_id for message in self.sent]


@pytest.fixture
def gate(tmp_path: Path) -> FileGate:
    return FileGate(tmp_path / "next-wake")


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def make_workflow(engine: Engine) -> Iterator[Callable[..., uuid.UUID]]:
    """Scheduled workflows of this test, deleted (with their executions) afterwards."""
    made: list[uuid.UUID] = []

    def make(
        *,
        next_run_at: datetime = NOON,
        cron: str = "0 * * * *",
        policy: str = "skip",
        status: str = "active",
        enabled: bool = True,
    ) -> uuid.UUID:
        with Session(engine) as session:
            owner = User(kind="user", credits=100)
            session.add(owner)
            session.flush()
            workflow, _ = create_workflow(session, owner.id, "scheduled", HELLO, status=status)
            workflow.cron, workflow.misfire_policy = cron, policy
            workflow.schedule_enabled, workflow.next_run_at = enabled, next_run_at
            session.add(workflow)
            session.commit()
            made.append(workflow.id)
            return workflow.id

    yield make
    with engine.begin() as conn:
        conn.execute(sa.delete(Execution).where(Execution.workflow_id.in_(made)))
        conn.execute(sa.delete(Workflow).where(Workflow.id.in_(made)))


def executions_of(engine: Engine, workflow_id: uuid.UUID) -> list[Execution]:
    with Session(engine) as session:
        query = select(Execution).where(Execution.workflow_id == workflow_id).order_by(Execution.scheduled_for)
        return list(session.exec(query))


def next_run_of(engine: Engine, workflow_id: uuid.UUID) -> datetime | None:
    with Session(engine) as session:
        return session.get(Workflow, workflow_id).next_run_at


def set_next_run(engine: Engine, workflow_id: uuid.UUID, when: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(Workflow).where(Workflow.id == workflow_id).values(next_run_at=when))


def queue_manual(engine: Engine, workflow_id: uuid.UUID) -> uuid.UUID:
    with Session(engine) as session:
        execution_id = queue_execution(session, session.get(Workflow, workflow_id), trigger="manual").id
        session.commit()
        return execution_id


def dispatched_at(engine: Engine, execution_id: uuid.UUID) -> datetime | None:
    with Session(engine) as session:
        return session.get(Execution, execution_id).dispatched_at


@contextmanager
def recorded_statements(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_due_workflow_gets_one_execution_and_moves_on(engine, gate, dispatcher, make_workflow) -> None:
    workflow_id = make_workflow(next_run_at=NOON)

    report = run_tick(engine, dispatcher, gate, now=NOW)

    [execution] = executions_of(engine, workflow_id)
    assert (execution.trigger, execution.status, execution.scheduled_for) == ("schedule", "queued", NOON)
    assert (execution.version, execution.lane, execution.attempt) == (1, "light", 1)
    assert next_run_of(engine, workflow_id) == NOON + timedelta(hours=1)
    assert (report.due, report.created, report.skipped_misfires) == (1, 1, 0)


def test_the_tick_sends_what_it_queued(engine, gate, dispatcher, make_workflow) -> None:
    workflow_id = make_workflow(next_run_at=NOON)

    run_tick(engine, dispatcher, gate, now=NOW)

    [execution] = executions_of(engine, workflow_id)
    assert execution.dispatched_at == NOW
    [message] = [m for m in dispatcher.sent if m.execution_id == execution.id]
    assert (message.attempt, message.lane) == (1, "light")


def test_a_workflow_not_yet_due_is_left_alone(engine, gate, dispatcher, make_workflow) -> None:
    workflow_id = make_workflow(next_run_at=NOON + timedelta(hours=1))

    report = run_tick(engine, dispatcher, gate, now=NOW)

    assert executions_of(engine, workflow_id) == []
    assert next_run_of(engine, workflow_id) == NOON + timedelta(hours=1)
    assert (report.due, report.created) == (0, 0)


def test_skip_policy_drops_missed_fire_times(engine, gate, dispatcher, make_workflow) -> None:
    workflow_id = make_workflow(next_run_at=NOON - timedelta(hours=3), policy="skip")
    now = NOON + timedelta(minutes=30)  # 07:00, 08:00, 09:00 and 10:00 were all missed

    report = run_tick(engine, dispatcher, gate, now=now)

    assert executions_of(engine, workflow_id) == []
    assert next_run_of(engine, workflow_id) == NOON + timedelta(hours=1)
    assert (report.due, report.created, report.skipped_misfires) == (1, 0, 4)


def test_run_once_policy_runs_the_latest_missed_fire_time(engine, gate, dispatcher, make_workflow) -> None:
    workflow_id = make_workflow(next_run_at=NOON - timedelta(hours=3), policy="run_once")
    now = NOON + timedelta(minutes=30)

    report = run_tick(engine, dispatcher, gate, now=now)

    assert [e.scheduled_for for e in executions_of(engine, workflow_id)] == [NOON]
    assert next_run_of(engine, workflow_id) == NOON + timedelta(hours=1)
    assert (report.created, report.skipped_misfires) == (1, 3)


def test_archived_and_disabled_workflows_are_ignored(engine, gate, dispatcher, make_workflow) -> None:
    archived = make_workflow(next_run_at=NOON, status="archived")
    disabled = make_workflow(next_run_at=NOON, enabled=False)

    report = run_tick(engine, dispatcher, gate, now=NOW)

    for workflow_id in (archived, disabled):
        assert executions_of(engine, workflow_id) == []
        assert next_run_of(engine, workflow_id) == NOON
    assert report.due == 0
    assert report.next_wake > NOW, "an archived schedule must not hold the gate open"


def test_the_outbox_sends_queued_executions_and_stamps_them(engine, gate, dispatcher, make_workflow) -> None:
    workflow_id = make_workflow(next_run_at=NOON + timedelta(days=1))
    execution_id = queue_manual(engine, workflow_id)

    report = run_tick(engine, dispatcher, gate, now=NOW)

    assert dispatcher.sent_ids().count(execution_id) == 1
    assert dispatched_at(engine, execution_id) == NOW
    assert report.dispatched >= 1


def test_a_failed_send_is_retried_by_the_next_tick(engine, gate, dispatcher, make_workflow) -> None:
    workflow_id = make_workflow(next_run_at=NOON + timedelta(days=1))
    unlucky, lucky = queue_manual(engine, workflow_id), queue_manual(engine, workflow_id)
    dispatcher.failing = {unlucky}

    report = run_tick(engine, dispatcher, gate, now=NOW)

    assert dispatched_at(engine, unlucky) is None
    assert dispatched_at(engine, lucky) == NOW
    assert report.failed_dispatches == 1
    assert report.next_wake == NOW + RETRY_UNSENT

    dispatcher.failing = set()
    later = NOW + RETRY_UNSENT
    retry = run_tick(engine, dispatcher, gate, now=later)

    assert not retry.gate_closed
    assert dispatched_at(engine, unlucky) == later
    assert (dispatcher.sent_ids().count(unlucky), dispatcher.sent_ids().count(lucky)) == (1, 1)


def test_a_shut_gate_means_no_database_queries(engine, gate, dispatcher, make_workflow) -> None:
    workflow_id = make_workflow(next_run_at=NOON)
    gate.set(NOW + timedelta(seconds=30))

    with recorded_statements(engine) as statements:
        report = run_tick(engine, dispatcher, gate, now=NOW)

    assert statements == []
    assert report.gate_closed and report.next_wake == NOW + timedelta(seconds=30)
    assert executions_of(engine, workflow_id) == []


def test_the_gate_is_set_to_the_next_schedule(engine, gate, dispatcher, make_workflow) -> None:
    make_workflow(next_run_at=NOON)

    report = run_tick(engine, dispatcher, gate, now=NOW)

    assert report.next_wake == NOON + timedelta(hours=1)
    assert gate.read() == report.next_wake


def test_the_gate_opens_when_the_next_fire_time_comes(engine, gate, dispatcher, make_workflow) -> None:
    make_workflow(next_run_at=NOON, cron="* * * * *")

    first = run_tick(engine, dispatcher, gate, now=NOW)
    early = run_tick(engine, dispatcher, gate, now=NOON + timedelta(seconds=59))
    on_time = run_tick(engine, dispatcher, gate, now=NOON + timedelta(minutes=1))

    assert first.next_wake == NOON + timedelta(minutes=1)
    assert early.gate_closed
    assert (on_time.gate_closed, on_time.created) == (False, 1)


def test_due_schedules_left_over_keep_the_gate_open(engine, make_workflow) -> None:
    """E.g. rows another tick still holds locked: the next wake is already past."""
    make_workflow(next_run_at=NOON)

    assert next_wake(engine, NOW) == NOON


def test_a_gate_lowered_during_a_tick_stays_lowered(engine, gate, dispatcher, make_workflow) -> None:
    """The API commits a schedule after the tick's query and lowers the gate: that must not be lost."""
    make_workflow(next_run_at=NOON)
    lowered = NOW + timedelta(minutes=7)
    dispatcher.on_dispatch = lambda: gate.lower(lowered)

    report = run_tick(engine, dispatcher, gate, now=NOW)

    assert report.next_wake == NOON + timedelta(hours=1)
    assert gate.read() == lowered


def test_a_tick_run_twice_at_the_same_time_creates_no_duplicates(engine, gate, dispatcher, make_workflow) -> None:
    workflow_id = make_workflow(next_run_at=NOON)

    run_tick(engine, dispatcher, gate, now=NOW)
    gate.set(None)
    run_tick(engine, dispatcher, gate, now=NOW)
    set_next_run(engine, workflow_id, NOON)  # as if the advance had been lost: the unique key still holds
    gate.set(None)
    again = run_tick(engine, dispatcher, gate, now=NOW)

    assert [e.scheduled_for for e in executions_of(engine, workflow_id)] == [NOON]
    assert (again.due, again.created) == (1, 0)
    assert next_run_of(engine, workflow_id) == NOON + timedelta(hours=1)


def test_due_workflows_are_inserted_in_one_statement_per_batch(engine, gate, dispatcher, make_workflow) -> None:
    ids = [make_workflow(next_run_at=NOON) for _ in range(5)]

    with recorded_statements(engine) as statements:
        report = run_tick(engine, dispatcher, gate, now=NOW, batch_size=2)

    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO EXECUTIONS")]
    assert len(inserts) == 3  # batches of 2, 2 and 1
    assert (report.due, report.created) == (5, 5)
    assert all(len(executions_of(engine, workflow_id)) == 1 for workflow_id in ids)
