"""The live event stream end to end: a real uvicorn server on 127.0.0.1 serving the app, a run
queued through the API, and a worker (WorkflowRunner, notifying the API as it writes) running it
while an HTTP client reads `GET /executions/{id}/stream`."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from sqlmodel import Session

from api.app import create_app
from api.services import AppServices
from shared.db.crud import create_workflow
from shared.db.execution_store import SqlExecutionStore
from shared.db.models import User
from shared.engine.runner import RunOutcome, WorkflowRunner
from shared.identity.api_keys import issue_api_key
from shared.queue.inprocess import InProcessQueue
from shared.vault import InMemoryCredentialProvider

SLOW_CHAIN = {
    "nodes": [
        {"id": "first", "type": "text.combine", "config": {"parts": ["a"]}},
        {"id": "pause", "type": "flow.delay", "config": {"seconds": 0.8}},
        {"id": "last", "type": "text.combine", "config": {"parts": ["b"]}},
    ],
    "edges": [{"from": "first", "to": "pause"}, {"from": "pause", "to": "last"}],
}


@dataclass
class LiveApi:
    url: str
    services: AppServices
    headers: dict[str, str]
    workflow_id: uuid.UUID


@pytest.fixture
def live_api(engine, settings) -> Iterator[LiveApi]:
    """The app served by uvicorn in a thread, and a caller with a workflow to run."""
    with Session(engine, expire_on_commit=False) as session:
        user = User(kind="user", credits=100)
        session.add(user)
        session.flush()
        key = issue_api_key(session, user.id, "e2e").key
        workflow, _ = create_workflow(session, user.id, "slow chain", SLOW_CHAIN)
        session.commit()
    services = AppServices(settings, dispatcher=InProcessQueue(), _engine=engine)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        create_app(settings, services), lifespan="off", log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        port = sock.getsockname()[1]
        yield LiveApi(f"http://127.0.0.1:{port}", services, {"Authorization": f"Bearer {key}"}, workflow.id)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


async def sse_frames(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if fields:
                yield fields
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    if fields:
        yield fields


async def start_run(client: httpx.AsyncClient, live: LiveApi) -> uuid.UUID:
    """Queue through the API and take the message off the queue, as a worker would."""
    response = await client.post(f"/api/workflows/{live.workflow_id}/runs")
    assert response.status_code == 202
    message = live.services.dispatcher.get(timeout=1)
    assert str(message.execution_id) == response.json()["execution_id"]
    return message.execution_id


def worker(engine, settings, live: LiveApi, execution_id: uuid.UUID) -> asyncio.Task[RunOutcome]:
    store = SqlExecutionStore(engine)
    assert store.claim(execution_id, "e2e-worker")
    runner = WorkflowRunner(
        store,
        settings=settings,
        credentials=InMemoryCredentialProvider(),
        listeners=[lambda written_id, _event: live.services.notifier.notify(str(written_id))],
    )
    return asyncio.create_task(runner.run(execution_id))


async def test_events_are_pushed_in_order_while_the_run_is_still_going(live_api, engine, settings):
    async with httpx.AsyncClient(base_url=live_api.url, headers=live_api.headers, timeout=20) as client:
        execution_id = await start_run(client, live_api)
        received: list[tuple[int, str, bool]] = []
        async with client.stream("GET", f"/api/executions/{execution_id}/stream") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            run = worker(engine, settings, live_api, execution_id)
            async with asyncio.timeout(20):
                async for frame in sse_frames(response):
                    assert json.loads(frame["data"])["seq"] == int(frame["id"])
                    received.append((int(frame["id"]), frame["event"], run.done()))
        outcome = await run

    assert outcome.status == "succeeded"
    seqs = [seq for seq, _, _ in received]
    assert seqs == list(range(1, len(received) + 1))
    before_the_end = [event_type for _, event_type, run_done in received if not run_done]
    assert before_the_end[:4] == ["run_started", "step_started", "step_succeeded", "step_started"]  # up to the pause
    assert received[-1][1] == "run_finished"


async def test_a_reconnect_with_last_event_id_replays_only_later_events(live_api, engine, settings):
    async with httpx.AsyncClient(base_url=live_api.url, headers=live_api.headers, timeout=20) as client:
        execution_id = await start_run(client, live_api)
        outcome = await worker(engine, settings, live_api, execution_id)
        assert outcome.status == "succeeded"
        last_seq = SqlExecutionStore(engine).last_seq(execution_id)

        async with client.stream(
            "GET", f"/api/executions/{execution_id}/stream", headers={"Last-Event-ID": "3"}
        ) as response:
            async with asyncio.timeout(10):
                replayed = [int(frame["id"]) async for frame in sse_frames(response)]
        at_the_end = await client.get(
            f"/api/executions/{execution_id}/stream", headers={"Last-Event-ID": str(last_seq)}
        )

    assert replayed == list(range(4, last_seq + 1))
    assert at_the_end.status_code == 204


async def test_a_stream_opened_mid_run_picks_up_from_its_cursor(live_api, engine, settings):
    async with httpx.AsyncClient(base_url=live_api.url, headers=live_api.headers, timeout=20) as client:
        execution_id = await start_run(client, live_api)
        run = worker(engine, settings, live_api, execution_id)
        while SqlExecutionStore(engine).last_seq(execution_id) < 2:
            await asyncio.sleep(0.02)

        async with client.stream("GET", f"/api/executions/{execution_id}/stream", params={"after": 2}) as response:
            async with asyncio.timeout(20):
                frames = [(int(frame["id"]), frame["event"]) async for frame in sse_frames(response)]
        await run

    assert [seq for seq, _ in frames] == list(range(3, frames[-1][0] + 1))
    assert frames[-1][1] == "run_finished"
