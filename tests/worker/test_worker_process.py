"""`python -m worker_image` as a subprocess on PostgreSQL: exit codes, duplicates, SIGTERM and
kill -9 mid-run. Steps call a recording server, so a re-run step would be counted twice."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime

import sqlalchemy as sa

from shared.db.models import Execution
from shared.scheduler.reaper import reap
from tests.support.http_server import Reply
from tests.support.moto_server import REGION
from tests.worker.conftest import calls, chain, execution, message, queued, receive, step_statuses, wait_until

SLOW_S = 2.0


def test_a_queued_execution_runs_to_success(pg_engine, server, start_worker) -> None:
    execution_id = queued(pg_engine, chain(server, "a", "b"))

    worker = start_worker(message(execution_id))

    assert worker.wait() == 0, worker.output()
    done = execution(pg_engine, execution_id)
    assert done.status == "succeeded"
    assert done.worker_id.startswith("task-")
    assert (calls(server, "a"), calls(server, "b")) == (1, 1)


def test_execution_id_argument_runs_the_execution(pg_engine, server, start_worker) -> None:
    execution_id = queued(pg_engine, chain(server, "a"))

    worker = start_worker(None, "--execution-id", str(execution_id))

    assert worker.wait() == 0, worker.output()
    assert execution(pg_engine, execution_id).status == "succeeded"


def test_a_message_for_a_running_execution_is_dropped(pg_engine, server, start_worker) -> None:
    execution_id = queued(pg_engine, chain(server, "a"))
    with pg_engine.begin() as conn:
        conn.execute(sa.update(Execution).where(Execution.id == execution_id).values(status="running"))

    worker = start_worker(message(execution_id))

    assert worker.wait() == 0
    assert "dropped" in worker.output()
    assert execution(pg_engine, execution_id).status == "running"
    assert calls(server, "a") == 0


def test_a_failing_execution_exits_1(pg_engine, server, start_worker) -> None:
    server.route("/a", status=500)
    execution_id = queued(pg_engine, chain(server, "a"))

    assert start_worker(message(execution_id)).wait() == 1
    assert execution(pg_engine, execution_id).status == "failed"


def test_a_malformed_message_exits_2(start_worker) -> None:
    assert start_worker('{"attempt": 1}').wait() == 2
    assert start_worker(None).wait() == 2


def test_sigterm_drains_hands_back_and_a_second_worker_finishes(pg_engine, server, start_worker) -> None:
    server.route("/slow", Reply(delay_s=SLOW_S))
    execution_id = queued(pg_engine, chain(server, "a", "slow", "c"))
    worker = start_worker(message(execution_id), worker_drain_deadline_s=5)
    wait_until(lambda: calls(server, "slow") == 1, what="the slow step to start")

    worker.process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = worker.wait(timeout=10)

    assert time.monotonic() - started < 6
    assert code == 3, worker.output()
    handed_back = execution(pg_engine, execution_id)
    assert (handed_back.status, handed_back.attempt, handed_back.dispatched_at) == ("queued", 2, None)
    assert step_statuses(pg_engine, execution_id) == {"a": "succeeded", "slow": "succeeded"}

    assert start_worker(message(execution_id, 2)).wait() == 0
    assert execution(pg_engine, execution_id).status == "succeeded"
    assert [calls(server, path) for path in ("a", "slow", "c")] == [1, 1, 1]


def test_sigterm_cancels_steps_that_outlive_the_drain(pg_engine, server, start_worker) -> None:
    server.route("/slow", Reply(delay_s=10))
    execution_id = queued(pg_engine, chain(server, "a", "slow"))
    worker = start_worker(message(execution_id), worker_drain_deadline_s=1)
    wait_until(lambda: calls(server, "slow") == 1, what="the slow step to start")

    worker.process.send_signal(signal.SIGTERM)

    assert worker.wait(timeout=5) == 3, worker.output()
    handed_back = execution(pg_engine, execution_id)
    assert (handed_back.status, handed_back.attempt) == ("queued", 2)
    assert step_statuses(pg_engine, execution_id)["a"] == "succeeded"


def test_kill_9_leaves_a_stale_heartbeat_the_reaper_requeues_and_a_second_worker_resumes(
    pg_engine, server, start_worker
) -> None:
    server.route("/slow", Reply(delay_s=SLOW_S))
    execution_id = queued(pg_engine, chain(server, "a", "slow", "c"))
    worker = start_worker(message(execution_id))
    wait_until(lambda: calls(server, "slow") == 1, what="the slow step to start")

    worker.process.send_signal(signal.SIGKILL)
    worker.wait()
    beaten_at = execution(pg_engine, execution_id).heartbeat_at
    time.sleep(1.5)  # three heartbeat periods

    orphan = execution(pg_engine, execution_id)
    assert (orphan.status, orphan.heartbeat_at) == ("running", beaten_at)
    report = reap(pg_engine, now=datetime.now(UTC), stale_after_s=1, max_attempts=3, undispatched_after_s=900)
    assert execution_id in report.requeued
    requeued = execution(pg_engine, execution_id)
    assert (requeued.status, requeued.attempt, requeued.dispatched_at) == ("queued", 2, None)

    assert start_worker(message(execution_id, 2)).wait() == 0
    assert execution(pg_engine, execution_id).status == "succeeded"
    assert (calls(server, "a"), calls(server, "c")) == (1, 1)  # `slow` never succeeded: run again
    assert calls(server, "slow") == 2


def test_one_message_delivered_twice_at_once_runs_the_execution_once(pg_engine, server, start_worker) -> None:
    server.route("/slow", Reply(delay_s=0.5))
    execution_id = queued(pg_engine, chain(server, "a", "slow"))

    workers = [start_worker(message(execution_id)) for _ in range(2)]

    assert [worker.wait() for worker in workers] == [0, 0]
    assert sum("dropped" in worker.output() for worker in workers) == 1
    assert execution(pg_engine, execution_id).status == "succeeded"
    assert (calls(server, "a"), calls(server, "slow")) == (1, 1)


def test_sigterm_re_dispatches_to_the_browser_queue_when_queues_are_set(
    pg_engine, server, queues, start_worker
) -> None:
    endpoint, light_url, browser_url = queues
    server.route("/slow", Reply(delay_s=SLOW_S))
    execution_id = queued(pg_engine, chain(server, "slow", "after"))
    worker = start_worker(
        message(execution_id),
        light_queue_url=light_url,
        browser_queue_url=browser_url,
        aws_region=REGION,
        aws_endpoint_url=endpoint,
    )
    wait_until(lambda: calls(server, "slow") == 1, what="the slow step to start")

    worker.process.send_signal(signal.SIGTERM)

    assert worker.wait(timeout=10) == 3, worker.output()
    assert execution(pg_engine, execution_id).dispatched_at is not None
    assert receive(endpoint, browser_url) == [{"execution_id": str(execution_id), "attempt": 2}]
    assert receive(endpoint, light_url) == []
