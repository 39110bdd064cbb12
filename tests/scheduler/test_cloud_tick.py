"""The tick and the reaper together, as the scheduler Lambda and the dev loop run them: a stale
execution goes back to its queue in the same tick, the gate wakes for the next heartbeat deadline,
and a shut gate keeps the reaper off the database too."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from shared.scheduler import FileGate
from shared.scheduler.cloud_tick import run_cloud_tick
from shared.scheduler.reaper import ReaperLimits
from tests.scheduler.test_reaper import NOW, RecordingDispatcher, make_execution, row

__all__ = ["make_execution"]

LIMITS = ReaperLimits(stale_after_s=120, max_attempts=3, undispatched_after_s=900)


def test_a_stale_execution_is_sent_again_by_the_same_tick(engine, make_execution, tmp_path):
    stale = make_execution("running", heartbeat_at=NOW - timedelta(minutes=5), dispatched_at=NOW)
    dispatcher = RecordingDispatcher()

    report = run_cloud_tick(engine, dispatcher, FileGate(tmp_path / "gate"), LIMITS, now=NOW)

    assert stale in report.reaped.requeued
    assert stale in [message.execution_id for message in dispatcher.sent]
    assert (row(engine, stale).attempt, row(engine, stale).dispatched_at) == (2, NOW)


def test_the_gate_wakes_for_the_next_heartbeat_deadline(engine, make_execution, tmp_path):
    make_execution("running", heartbeat_at=NOW - timedelta(seconds=30), dispatched_at=NOW)
    gate = FileGate(tmp_path / "gate")

    run_cloud_tick(engine, RecordingDispatcher(), gate, LIMITS, now=NOW)

    assert gate.read() <= NOW + timedelta(seconds=90)


def test_a_shut_gate_keeps_the_reaper_off_the_database(engine, make_execution, tmp_path):
    stale = make_execution("running", heartbeat_at=NOW - timedelta(minutes=5))
    gate = FileGate(tmp_path / "gate")
    gate.set(NOW + timedelta(minutes=1))
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        report = run_cloud_tick(engine, RecordingDispatcher(), gate, LIMITS, now=NOW)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)

    assert report.tick.gate_closed and statements == []
    assert row(engine, stale).status == "running"
