"""Resume after a crash: succeeded steps are re-used, not run again (calls counted at a real server)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from shared.db.models import Execution
from tests.engine.rows import event_rows, execution_row, step_rows
from tests.support.http_server import Reply


def http_chain(server) -> dict:
    return {
        "nodes": [
            {"id": name, "type": "http.request", "config": {"url": server.url(f"/{name}")}} for name in ("a", "b", "c")
        ],
        "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}],
    }


def calls(server, path: str) -> int:
    return sum(1 for request in server.received if request.path == path)


def requeue(engine, execution_id) -> None:
    """What the reaper does with a stale execution."""
    executions = Execution.__table__
    with engine.begin() as conn:
        conn.execute(
            executions.update()
            .where(executions.c.id == execution_id)
            .values(status="queued", attempt=executions.c.attempt + 1)
        )


async def crash_during(harness, execution_id, server, path: str) -> None:
    """Run until the server has been answering `path` for a while (long enough for the step's
    start to be written), then stop the runner dead: no cleanup, no final write."""
    assert harness.store.claim(execution_id, "worker-1")
    task = asyncio.create_task(harness.runner().run(execution_id))
    while calls(server, path) == 0:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.15)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_resumed_execution_does_not_rerun_succeeded_steps(harness, server):
    server.route("/a", Reply(body={"from": "a"}))
    server.route("/b", lambda request: Reply(body={"from": "b"}, delay_s=0.5 if calls(server, "/b") == 1 else 0))
    server.route("/c", Reply(body={"from": "c"}))
    execution_id = harness.queue(http_chain(server))
    await crash_during(harness, execution_id, server, "/b")
    assert execution_row(harness.engine, execution_id).status == "running"
    assert step_rows(harness.engine, execution_id)["b"].status == "running"

    requeue(harness.engine, execution_id)
    assert harness.store.claim(execution_id, "worker-2")
    outcome = await harness.runner().run(execution_id)

    assert outcome.status == "succeeded"
    assert (calls(server, "/a"), calls(server, "/b"), calls(server, "/c")) == (1, 2, 1)
    assert outcome.steps["a"].reused and outcome.steps["a"].output["body"] == {"from": "a"}
    row = execution_row(harness.engine, execution_id)
    assert (row.status, row.attempt, row.worker_id) == ("succeeded", 2, "worker-2")
    assert row.credits_used == 3


async def test_events_continue_gap_free_across_a_resume(harness, server):
    for name in ("a", "b", "c"):
        server.route(f"/{name}", Reply(body={"ok": True}, delay_s=0.5 if name == "b" else 0))
    execution_id = harness.queue(http_chain(server))
    await crash_during(harness, execution_id, server, "/b")
    seq_before = [e.seq for e in event_rows(harness.engine, execution_id)]

    requeue(harness.engine, execution_id)
    harness.store.claim(execution_id, "worker-2")
    await harness.runner().run(execution_id)

    events = event_rows(harness.engine, execution_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert len(events) > len(seq_before)
    resumed = [e for e in events if e.type == "run_started"]
    assert [e.payload["resumed"] for e in resumed] == [False, True]


async def test_only_a_queued_execution_can_be_claimed(harness):
    execution_id = harness.queue({"nodes": [{"id": "a", "type": "test.echo"}]})

    assert harness.store.claim(execution_id, "worker-1") is True
    assert harness.store.claim(execution_id, "worker-2") is False
    with harness.engine.connect() as conn:
        owner = conn.execute(sa.select(Execution.__table__.c.worker_id).where(Execution.__table__.c.id == execution_id))
        assert owner.scalar() == "worker-1"


async def test_claim_and_load_resumes_like_a_claim_then_a_run(harness, server):
    server.route("/a", Reply(body={"from": "a"}))
    server.route("/b", lambda request: Reply(body={"from": "b"}, delay_s=0.5 if calls(server, "/b") == 1 else 0))
    server.route("/c", Reply(body={"from": "c"}))
    execution_id = harness.queue(http_chain(server))
    await crash_during(harness, execution_id, server, "/b")
    seq_before = max(e.seq for e in event_rows(harness.engine, execution_id))
    requeue(harness.engine, execution_id)

    claimed = harness.store.claim_and_load(execution_id, "worker-2")
    outcome = await harness.runner().run(execution_id, claimed)

    assert (claimed.record.attempt, claimed.last_seq) == (2, seq_before)
    assert claimed.steps["a"].status == "succeeded" and claimed.steps["a"].output["body"] == {"from": "a"}
    assert outcome.status == "succeeded" and outcome.steps["a"].reused
    assert (calls(server, "/a"), calls(server, "/b"), calls(server, "/c")) == (1, 2, 1)
    events = event_rows(harness.engine, execution_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    row = execution_row(harness.engine, execution_id)
    assert (row.status, row.worker_id, row.credits_used) == ("succeeded", "worker-2", 3)


async def test_claim_and_load_of_a_first_attempt_reads_the_definition_and_input(harness):
    definition = {"nodes": [{"id": "a", "type": "test.echo"}]}
    execution_id = harness.queue(definition, {"n": 7})

    claimed = harness.store.claim_and_load(execution_id, "worker-1")

    assert (claimed.record.definition, claimed.record.input) == (definition, {"n": 7})
    assert (claimed.record.status, claimed.record.attempt, claimed.last_seq, claimed.steps) == ("running", 1, 0, {})
    assert claimed.record.started_at is not None
    row = execution_row(harness.engine, execution_id)
    assert (row.status, row.worker_id) == ("running", "worker-1")


async def test_claim_and_load_takes_only_a_queued_execution(harness):
    execution_id = harness.queue({"nodes": [{"id": "a", "type": "test.echo"}]})

    assert harness.store.claim_and_load(execution_id, "worker-1") is not None
    assert harness.store.claim_and_load(execution_id, "worker-2") is None
    assert execution_row(harness.engine, execution_id).worker_id == "worker-1"
