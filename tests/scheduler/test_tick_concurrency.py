"""Ticks running at once on PostgreSQL share the due schedules: each fire time runs once, each
execution is sent once. A scratch database of its own, since it fills 1,000 workflows."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.db.migrate import upgrade
from shared.db.models import Execution, User, Workflow, WorkflowVersion
from shared.db.session import create_db_engine
from shared.queue import DispatchResult, QueueMessage
from shared.scheduler import FileGate
from shared.scheduler.tick import TickReport, run_tick
from tests.support.postgres import scratch_database

WORKFLOWS = 1_000
TICKS = 4
NOW = datetime(2030, 6, 1, 12, 0, 20, tzinfo=UTC)
HELLO = {"nodes": [{"id": "hello", "type": "text.combine", "config": {"parts": ["hello"]}}], "edges": []}


class ThreadSafeRecorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: list[QueueMessage] = []

    def dispatch(self, messages: Sequence[QueueMessage]) -> DispatchResult:
        with self._lock:
            self.sent += messages
        return DispatchResult(sent=list(messages))


@pytest.fixture
def pg_engine(postgres_admin_url: str) -> Iterator[Engine]:
    with scratch_database(postgres_admin_url, prefix="fb_tick") as url:
        engine = create_db_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


def fill_due_workflows(engine: Engine, count: int) -> None:
    owner = uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(count)]
    due = NOW.replace(second=0)
    with engine.begin() as conn:
        conn.execute(sa.insert(User.__table__), [{"id": owner, "kind": "user", "credits": 0}])
        conn.execute(
            sa.insert(Workflow.__table__),
            [
                {"id": workflow_id, "owner_id": owner, "name": f"every minute {n}", "status": "active",
                 "current_version": 1, "cron": "* * * * *", "timezone": "UTC", "schedule_enabled": True,
                 "misfire_policy": "skip", "next_run_at": due, "description": ""}
                for n, workflow_id in enumerate(ids)
            ],
        )  # fmt: skip
        conn.execute(
            sa.insert(WorkflowVersion.__table__),
            [{"id": uuid.uuid4(), "workflow_id": wid, "version": 1, "definition": HELLO} for wid in ids],
        )


def test_concurrent_ticks_queue_each_fire_time_once(pg_engine: Engine, tmp_path: Path) -> None:
    fill_due_workflows(pg_engine, WORKFLOWS)
    dispatcher = ThreadSafeRecorder()
    barrier = threading.Barrier(TICKS)
    reports: list[TickReport] = []
    errors: list[BaseException] = []

    def tick(n: int) -> None:
        gate = FileGate(tmp_path / f"gate-{n}")  # each tick its own gate: all four reach the database
        barrier.wait()
        try:
            reports.append(run_tick(pg_engine, dispatcher, gate, now=NOW, batch_size=50))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=tick, args=(n,)) for n in range(TICKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert errors == []
    assert len(reports) == TICKS
    with pg_engine.connect() as conn:
        rows = conn.execute(sa.select(Execution.workflow_id, Execution.scheduled_for)).all()
        late = conn.execute(sa.select(sa.func.count()).where(Workflow.next_run_at <= NOW)).scalar()
    assert len(rows) == WORKFLOWS
    assert len({workflow_id for workflow_id, _ in rows}) == WORKFLOWS
    assert {scheduled_for for _, scheduled_for in rows} == {NOW.replace(second=0)}
    assert late == 0, "every schedule moved on"
    assert sum(report.created for report in reports) == WORKFLOWS
    assert sum(report.due for report in reports) == WORKFLOWS, "SKIP LOCKED: no workflow claimed twice"
    sent = [message.execution_id for message in dispatcher.sent]
    assert len(sent) == len(set(sent)) == WORKFLOWS, "each execution sent exactly once"
    assert all(report.next_wake <= NOW.replace(second=0) + timedelta(minutes=1) for report in reports)
