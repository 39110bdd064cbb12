"""A side-effecting step sends one idempotency key, `fb-<execution>-<node>`, on every try: the
step's own retries, and the next attempt of an execution a worker handed back mid-step (the far
side may have acted on the first request, so it must be able to tell the second is the same)."""

from __future__ import annotations

import signal

from tests.support.http_server import Received, Reply
from tests.worker.conftest import calls, execution, message, queued, wait_until


def paying(server, retry: dict | None = None) -> dict:
    node = {
        "id": "pay",
        "type": "http.request",
        "config": {"method": "POST", "url": server.url("/pay"), "send_idempotency_key": True},
    }
    if retry:
        node["retry"] = retry
    return {"nodes": [node], "edges": []}


def keys_sent(server) -> list[str | None]:
    return [received.headers.get("idempotency-key") for received in list(server.received) if received.path == "/pay"]


def answers(*replies: Reply):
    """A route answering each request with the next reply, the last one forever."""
    remaining = list(replies)

    def reply(_: Received) -> Reply:
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return reply


def test_a_retried_step_sends_the_same_key(pg_engine, server, start_worker) -> None:
    server.route("/pay", answers(Reply(status=503), Reply(body={"paid": True})))
    execution_id = queued(pg_engine, paying(server, {"max_attempts": 3, "backoff_s": 0.01}))

    assert start_worker(message(execution_id)).wait() == 0
    assert keys_sent(server) == [f"fb-{execution_id}-pay"] * 2


def test_a_step_resumed_after_a_hand_back_sends_the_same_key(pg_engine, server, start_worker) -> None:
    server.route("/pay", answers(Reply(delay_s=10), Reply(body={"paid": True})))
    execution_id = queued(pg_engine, paying(server))
    first = start_worker(message(execution_id), worker_drain_deadline_s=0.5)
    wait_until(lambda: calls(server, "pay") == 1, what="the payment to start")

    first.process.send_signal(signal.SIGTERM)
    assert first.wait(timeout=10) == 3, first.output()
    assert start_worker(message(execution_id, 2)).wait() == 0

    assert execution(pg_engine, execution_id).status == "succeeded"
    assert keys_sent(server) == [f"fb-{execution_id}-pay"] * 2


def test_two_executions_send_different_keys(pg_engine, server, start_worker) -> None:
    server.route("/pay", Reply(body={"paid": True}))
    first, second = (queued(pg_engine, paying(server)) for _ in range(2))

    assert [start_worker(message(execution_id)).wait() for execution_id in (first, second)] == [0, 0]
    assert keys_sent(server) == [f"fb-{first}-pay", f"fb-{second}-pay"]
