"""Execution events: the long-poll JSON and the SSE stream in its local (open) and aws (buffered) modes."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.app import create_app
from api.routes import events as events_module
from api.services import AppServices
from shared.db.crud import create_workflow, queue_execution
from shared.db.execution_store import SqlExecutionStore
from shared.db.models import Execution, Workflow
from shared.engine.store import EventWrite, ExecutionWrite, WriteBatch
from shared.queue.inprocess import InProcessQueue
from shared.settings import Settings

GREET = {"nodes": [{"id": "greet", "type": "text.combine", "config": {"parts": ["hi"]}}]}


def queued_execution(engine, owner_id) -> uuid.UUID:
    with Session(engine) as session:
        workflow, _ = create_workflow(session, owner_id, "wf", GREET)
        execution = queue_execution(session, workflow, trigger="api")
        session.commit()
        return execution.id


def emit(engine, execution_id, first_seq: int, *types: str, finish: str | None = None) -> None:
    """Write events the way a runner does (one batch, the final state with the last one)."""
    now = datetime.now(UTC)
    events = [EventWrite(first_seq + i, type_, {"n": first_seq + i}, now) for i, type_ in enumerate(types)]
    state = ExecutionWrite(status=finish, finished_at=now) if finish else None
    SqlExecutionStore(engine).write(execution_id, WriteBatch(events=events, execution=state))


def finished_execution(engine, owner_id) -> uuid.UUID:
    execution_id = queued_execution(engine, owner_id)
    emit(engine, execution_id, 1, "run_started", "step_started", "step_succeeded", "run_finished", finish="succeeded")
    return execution_id


def later(seconds: float, action) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def parse_sse(text: str) -> list[dict[str, str]]:
    """Each block of an event stream as {field: value}; comment lines under ':'."""
    blocks = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ") if not line.startswith(":") else (":", "", line[2:])
            fields[name] = value
        if fields:
            blocks.append(fields)
    return blocks


@pytest.fixture
def aws_client(caller, engine, tmp_path) -> TestClient:
    """The caller against an app in aws mode (buffered SSE, as behind Mangum)."""
    services = AppServices(Settings(mode="aws", data_dir=tmp_path / "aws"), dispatcher=InProcessQueue(), _engine=engine)
    client = TestClient(create_app(services.settings, services), raise_server_exceptions=False)
    client.headers.update(caller.headers())
    return client


# --- long-poll -----------------------------------------------------------------------------------


def test_events_after_a_seq_come_in_order_with_the_next_cursor(caller, engine):
    execution_id = finished_execution(engine, caller.user_id)

    body = caller.client.get(f"/api/executions/{execution_id}/events", params={"after": 2}).json()

    assert [(e["seq"], e["type"], e["payload"]) for e in body["events"]] == [
        (3, "step_succeeded", {"n": 3}),
        (4, "run_finished", {"n": 4}),
    ]
    assert (body["next_after"], body["finished"]) == (4, True)


def test_a_long_poll_on_a_quiet_execution_answers_after_wait(caller, engine):
    execution_id = queued_execution(engine, caller.user_id)

    started = time.monotonic()
    body = caller.client.get(f"/api/executions/{execution_id}/events", params={"after": 0, "wait": 1}).json()

    assert 0.9 <= time.monotonic() - started < 3
    assert body == {"events": [], "next_after": 0, "finished": False}


def test_a_long_poll_returns_as_soon_as_a_notified_event_arrives(caller, engine, services):
    execution_id = queued_execution(engine, caller.user_id)

    def run_starts():
        emit(engine, execution_id, 1, "run_started")
        services.notifier.notify(str(execution_id))

    later(0.3, run_starts)
    started = time.monotonic()
    body = caller.client.get(f"/api/executions/{execution_id}/events", params={"wait": 20}).json()

    assert time.monotonic() - started < 0.9
    assert ([e["type"] for e in body["events"]], body["next_after"], body["finished"]) == (["run_started"], 1, False)


def test_a_long_poll_finds_events_by_rechecking_when_no_one_notifies(caller, engine):
    execution_id = queued_execution(engine, caller.user_id)

    later(0.3, lambda: emit(engine, execution_id, 1, "run_started"))
    started = time.monotonic()
    body = caller.client.get(f"/api/executions/{execution_id}/events", params={"wait": 20}).json()

    assert time.monotonic() - started < 3
    assert [e["seq"] for e in body["events"]] == [1]


def test_a_long_poll_on_a_finished_execution_returns_at_once(caller, engine):
    execution_id = finished_execution(engine, caller.user_id)

    started = time.monotonic()
    body = caller.client.get(f"/api/executions/{execution_id}/events", params={"after": 4, "wait": 20}).json()

    assert time.monotonic() - started < 1
    assert body == {"events": [], "next_after": 4, "finished": True}


@pytest.mark.parametrize("params", [{"after": -1}, {"after": 2**31}, {"wait": 26}, {"wait": -1}, {"after": "x"}])
def test_out_of_range_poll_parameters_are_422(caller, engine, params):
    execution_id = queued_execution(engine, caller.user_id)

    assert caller.client.get(f"/api/executions/{execution_id}/events", params=params).status_code == 422


@pytest.mark.parametrize("route", ["events", "stream"])
def test_a_stranger_gets_404_for_the_events_of_the_callers_execution(caller, stranger, engine, route):
    execution_id = finished_execution(engine, caller.user_id)

    response = stranger.client.get(f"/api/executions/{execution_id}/{route}")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


# --- SSE, local mode -----------------------------------------------------------------------------


def test_the_stream_replays_every_event_as_sse_frames_and_closes(caller, engine):
    execution_id = finished_execution(engine, caller.user_id)

    response = caller.client.get(f"/api/executions/{execution_id}/stream")

    assert response.headers["content-type"].startswith("text/event-stream")
    frames = parse_sse(response.text)
    assert [(f["id"], f["event"]) for f in frames] == [
        ("1", "run_started"),
        ("2", "step_started"),
        ("3", "step_succeeded"),
        ("4", "run_finished"),
    ]
    data = json.loads(frames[0]["data"])
    assert (data["seq"], data["type"], data["payload"]) == (1, "run_started", {"n": 1})


def test_the_stream_resumes_after_last_event_id_which_wins_over_after(caller, engine):
    execution_id = finished_execution(engine, caller.user_id)

    response = caller.client.get(
        f"/api/executions/{execution_id}/stream", params={"after": 1}, headers={"Last-Event-ID": "2"}
    )

    assert [f["id"] for f in parse_sse(response.text)] == ["3", "4"]


def test_the_stream_resumes_after_the_after_parameter(caller, engine):
    execution_id = finished_execution(engine, caller.user_id)

    response = caller.client.get(f"/api/executions/{execution_id}/stream", params={"after": 3})

    assert [f["id"] for f in parse_sse(response.text)] == ["4"]


def test_a_finished_stream_with_nothing_left_answers_204_so_eventsource_stops(caller, engine):
    execution_id = finished_execution(engine, caller.user_id)

    response = caller.client.get(f"/api/executions/{execution_id}/stream", headers={"Last-Event-ID": "4"})

    assert (response.status_code, response.content) == (204, b"")


@pytest.mark.parametrize("value", ["abc", "-1", str(2**31)])
def test_an_unusable_last_event_id_is_400(caller, engine, value):
    execution_id = finished_execution(engine, caller.user_id)

    response = caller.client.get(f"/api/executions/{execution_id}/stream", headers={"Last-Event-ID": value})

    assert response.status_code == 400


def test_the_open_stream_sends_keep_alives_then_pushes_events_until_run_finished(caller, engine, services, monkeypatch):
    monkeypatch.setattr(events_module, "KEEPALIVE_S", 0.2)
    execution_id = queued_execution(engine, caller.user_id)

    def run():
        emit(engine, execution_id, 1, "run_started")
        services.notifier.notify(str(execution_id))
        time.sleep(0.2)
        emit(engine, execution_id, 2, "run_finished", finish="succeeded")
        services.notifier.notify(str(execution_id))

    later(0.7, run)
    response = caller.client.get(f"/api/executions/{execution_id}/stream")

    blocks = parse_sse(response.text)
    assert blocks[0] == {":": "keep-alive"}
    assert [b["id"] for b in blocks if "id" in b] == ["1", "2"]
    assert "id" in blocks[-1] and blocks[-1]["event"] == "run_finished"


# --- SSE, aws (buffered) mode --------------------------------------------------------------------


def test_buffered_mode_sends_the_events_after_the_cursor_with_a_retry_hint(aws_client, caller, engine):
    execution_id = finished_execution(engine, caller.user_id)

    response = aws_client.get(f"/api/executions/{execution_id}/stream", headers={"Last-Event-ID": "1"})

    assert response.status_code == 200
    assert response.text.startswith("retry: 1000\n\n")
    assert [(f["id"], f["event"]) for f in parse_sse(response.text)[1:]] == [
        ("2", "step_started"),
        ("3", "step_succeeded"),
        ("4", "run_finished"),
    ]


def test_buffered_mode_waits_for_events_and_closes_with_only_the_hint(aws_client, caller, engine, monkeypatch):
    monkeypatch.setattr(events_module, "BUFFERED_WAIT_S", 1.0)
    execution_id = queued_execution(engine, caller.user_id)

    started = time.monotonic()
    response = aws_client.get(f"/api/executions/{execution_id}/stream")

    assert 0.9 <= time.monotonic() - started < 3
    assert (response.status_code, response.text) == (200, "retry: 1000\n\n")


def test_buffered_mode_answers_as_soon_as_events_arrive(aws_client, caller, engine):
    execution_id = queued_execution(engine, caller.user_id)

    later(0.3, lambda: emit(engine, execution_id, 1, "run_started", "step_started"))
    started = time.monotonic()
    response = aws_client.get(f"/api/executions/{execution_id}/stream")

    assert time.monotonic() - started < 3
    assert [f["id"] for f in parse_sse(response.text)[1:]] == ["1", "2"]


def test_buffered_mode_answers_204_when_the_execution_has_finished_and_nothing_is_left(aws_client, caller, engine):
    execution_id = finished_execution(engine, caller.user_id)

    response = aws_client.get(f"/api/executions/{execution_id}/stream", params={"after": 4})

    assert response.status_code == 204


def test_the_open_stream_ends_when_its_execution_is_deleted(caller, engine, monkeypatch):
    execution_id = queued_execution(engine, caller.user_id)
    emit(engine, execution_id, 1, "run_started")
    stream_open = threading.Event()
    read_snapshot = events_module.read_snapshot

    def reading(*args):
        snapshot = read_snapshot(*args)
        stream_open.set()
        return snapshot

    def delete_workflow_once_the_stream_is_open():
        stream_open.wait(30)
        with Session(engine) as session:
            session.delete(session.get(Workflow, session.get(Execution, execution_id).workflow_id))
            session.commit()

    monkeypatch.setattr(events_module, "read_snapshot", reading)
    later(0, delete_workflow_once_the_stream_is_open)
    response = caller.client.get(f"/api/executions/{execution_id}/stream")

    assert response.status_code == 200, response.text
    events = [f for f in parse_sse(response.text) if ":" not in f]  # keep-alive comments may come under load
    assert [f["id"] for f in events] == ["1"]
