"""The dev process's worker pool on SQLite and PostgreSQL: messages from the in-process queue run
their executions once, whatever else goes wrong."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from shared.db.crud import create_workflow, queue_execution
from shared.db.models import Execution, ExecutionEvent, User
from shared.engine.store import EventWrite
from shared.local.worker_pool import LocalWorkerPool
from shared.queue import QueueMessage
from shared.queue.inprocess import InProcessQueue
from shared.settings import Settings

HELLO = {"nodes": [{"id": "hello", "type": "text.combine", "config": {"parts": ["hello"]}}], "edges": []}
SLOW = {"nodes": [{"id": "wait", "type": "flow.delay", "config": {"seconds": 60}}], "edges": []}


class EventLog:
    """A pool listener: remembers every event."""

    def __init__(self) -> None:
        self.events: list[tuple[uuid.UUID, EventWrite]] = []
        self.lock = threading.Lock()

    def __call__(self, execution_id: uuid.UUID, event: EventWrite) -> None:
        with self.lock:
            self.events.append((execution_id, event))

    def types(self, execution_id: uuid.UUID) -> list[str]:
        with self.lock:
            return [event.type for seen, event in self.events if seen == execution_id]


@pytest.fixture
def queue() -> InProcessQueue:
    return InProcessQueue()


@pytest.fixture
def event_log() -> EventLog:
    return EventLog()


@pytest.fixture
def pool(engine: Engine, queue: InProcessQueue, settings: Settings, event_log: EventLog) -> Iterator[LocalWorkerPool]:
    pool = LocalWorkerPool(engine, queue, settings, concurrency=2, listeners=[event_log])
    pool.start()
    yield pool
    pool.stop(timeout=1)


def queued(engine: Engine, definition: dict[str, Any] = HELLO) -> uuid.UUID:
    with Session(engine) as session:
        owner = User(kind="user", credits=100)
        session.add(owner)
        session.flush()
        workflow, _ = create_workflow(session, owner.id, "pool test", definition)
        execution_id = queue_execution(session, workflow, trigger="manual").id
        session.commit()
        return execution_id


def execution(engine: Engine, execution_id: uuid.UUID) -> Execution:
    with Session(engine) as session:
        return session.get(Execution, execution_id)


def stored_event_types(engine: Engine, execution_id: uuid.UUID) -> list[str]:
    with Session(engine) as session:
        query = select(ExecutionEvent).where(ExecutionEvent.execution_id == execution_id).order_by(ExecutionEvent.seq)
        return [event.type for event in session.exec(query)]


def wait_for_status(engine: Engine, execution_id: uuid.UUID, status: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while execution(engine, execution_id).status != status:
        assert time.monotonic() < deadline, f"execution never became {status}"
        time.sleep(0.02)


def test_a_dispatched_execution_runs_to_success(engine, queue, pool, event_log) -> None:
    execution_id = queued(engine)

    queue.dispatch([QueueMessage(execution_id)])
    assert pool.drain(timeout=15)

    done = execution(engine, execution_id)
    assert done.status == "succeeded"
    assert done.output == {"hello": {"text": "hello"}}
    assert done.worker_id == pool.worker_id
    assert event_log.types(execution_id)[-1] == "run_finished"


def test_a_duplicate_message_runs_the_execution_once(engine, queue, pool) -> None:
    execution_id = queued(engine)

    queue.dispatch([QueueMessage(execution_id), QueueMessage(execution_id)])
    assert pool.drain(timeout=15)

    assert execution(engine, execution_id).status == "succeeded"
    assert stored_event_types(engine, execution_id).count("run_started") == 1


def test_a_message_for_an_unknown_execution_is_dropped(engine, queue, pool) -> None:
    execution_id = queued(engine)

    queue.dispatch([QueueMessage(uuid.uuid4()), QueueMessage(execution_id)])
    assert pool.drain(timeout=15)

    assert execution(engine, execution_id).status == "succeeded"


def test_a_crashing_execution_is_failed_and_the_pool_carries_on(engine, queue, pool, monkeypatch) -> None:
    crashing, healthy = queued(engine), queued(engine)
    run = pool.runner.run

    async def crash_one(execution_id, claimed=None):
        if execution_id == crashing:
            await asyncio.sleep(0)
            raise RuntimeError("the run blew up")
        return await run(execution_id, claimed)

    monkeypatch.setattr(pool.runner, "run", crash_one)

    queue.dispatch([QueueMessage(crashing)])
    assert pool.drain(timeout=15)
    queue.dispatch([QueueMessage(healthy)])
    assert pool.drain(timeout=15)

    failed = execution(engine, crashing)
    assert failed.status == "failed"
    assert "the run blew up" in failed.error
    assert stored_event_types(engine, crashing)[-1] == "run_finished"
    assert execution(engine, healthy).status == "succeeded"


def test_stop_hands_running_executions_back(engine, queue, pool) -> None:
    execution_id = queued(engine, SLOW)
    queue.dispatch([QueueMessage(execution_id)])
    wait_for_status(engine, execution_id, "running")

    started = time.monotonic()
    pool.stop(timeout=0.2)

    assert time.monotonic() - started < 8
    back = execution(engine, execution_id)
    assert (back.status, back.attempt, back.dispatched_at, back.worker_id) == ("queued", 2, None, None)


def test_drain_times_out_while_an_execution_runs(engine, queue, pool) -> None:
    execution_id = queued(engine, SLOW)
    queue.dispatch([QueueMessage(execution_id)])
    wait_for_status(engine, execution_id, "running")

    assert not pool.drain(timeout=0.3)


def test_browser_lane_executions_wait_for_a_browser_slot(engine, queue, settings) -> None:
    one_browser = settings.model_copy(update={"local_browser_concurrency": 1})
    pool = LocalWorkerPool(engine, queue, one_browser, concurrency=3)
    pool.start()
    try:
        first, second, light = queued(engine, SLOW), queued(engine, SLOW), queued(engine, SLOW)
        queue.dispatch([QueueMessage(first, lane="browser"), QueueMessage(second, lane="browser")])
        wait_for_status(engine, first, "running")
        queue.dispatch([QueueMessage(light, lane="light")])
        wait_for_status(engine, light, "running")

        assert execution(engine, second).status == "queued"
    finally:
        pool.stop(timeout=1)
