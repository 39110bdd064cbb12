"""`execute_message` in-process on SQLite and PostgreSQL: the heartbeat during a long step, and a
stop request handing the execution back."""

from __future__ import annotations

import asyncio

from shared.queue.messages import QueueMessage
from shared.workers.execute import execute_message
from tests.support.http_server import Reply
from tests.worker.conftest import chain, execution, queued


async def test_the_heartbeat_beats_during_a_long_step(engine, server, settings) -> None:
    server.route("/slow", Reply(delay_s=1.0))
    execution_id = queued(engine, chain(server, "slow"))
    seen = []

    async def watch() -> None:
        while True:
            seen.append(await asyncio.to_thread(lambda: execution(engine, execution_id).heartbeat_at))
            await asyncio.sleep(0.1)

    watcher = asyncio.create_task(watch())
    result = await execute_message(engine, settings, QueueMessage(execution_id), worker_id="w", heartbeat_s=0.2)
    watcher.cancel()

    assert result.status == "succeeded"
    during_step = {beaten for beaten in seen[2:-2] if beaten is not None}
    assert len(during_step) >= 3  # the step writes nothing for a second; the timer beats anyway


async def test_a_stop_request_hands_the_execution_back(engine, server, settings) -> None:
    server.route("/slow", Reply(delay_s=0.5))
    execution_id = queued(engine, chain(server, "slow", "after"))
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.2, stop.set)

    result = await execute_message(
        engine, settings, QueueMessage(execution_id), worker_id="w", heartbeat_s=1, stop=stop, drain_s=5
    )

    assert result.status == "handed_back"
    assert result.next_message == QueueMessage(execution_id, 2, "browser")
    handed_back = execution(engine, execution_id)
    assert (handed_back.status, handed_back.attempt, handed_back.worker_id) == ("queued", 2, None)
