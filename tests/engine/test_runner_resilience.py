"""Retries, timeouts, cancel and resume: the runner under failure."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlmodel import Session

from shared.db.models import Execution
from shared.engine.definition import RetryPolicy
from shared.engine.retries import backoff_delay
from tests.engine.rows import event_rows, execution_row, step_rows


def flaky(node_id: str, failures: int, attempts: int, retryable: bool = True) -> dict:
    return {
        "id": node_id,
        "type": "test.flaky",
        "config": {"failures": failures, "retryable": retryable},
        "retry": {"max_attempts": attempts, "backoff_s": 0.001},
    }


async def test_a_step_is_retried_until_it_succeeds(harness, tracker):
    outcome = await harness.run({"nodes": [flaky("a", failures=2, attempts=3)]})

    assert outcome.status == "succeeded"
    assert tracker.count("a") == 3
    assert outcome.steps["a"].output == {"attempt": 3}
    assert step_rows(harness.engine, outcome.execution_id)["a"].attempt == 3


async def test_a_step_fails_after_its_last_attempt(harness, tracker):
    outcome = await harness.run({"nodes": [flaky("a", failures=5, attempts=3)]})

    assert outcome.status == "failed"
    assert tracker.count("a") == 3
    assert outcome.steps["a"].error == "planned failure 3 (after 3 attempts)"


async def test_a_non_retryable_error_is_not_retried(harness, tracker):
    outcome = await harness.run({"nodes": [flaky("a", failures=1, attempts=5, retryable=False)]})

    assert outcome.status == "failed"
    assert tracker.count("a") == 1


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5])
def test_backoff_doubles_per_attempt_within_jitter_bounds(attempt):
    policy = RetryPolicy(max_attempts=6, backoff_s=0.5)
    ceiling = 0.5 * 2 ** (attempt - 1)
    delays = [backoff_delay(policy, attempt, cap_s=60, rng=random.Random(seed)) for seed in range(200)]

    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert max(delays) - min(delays) > ceiling / 4  # jitter really spreads the waits


def test_backoff_is_capped():
    policy = RetryPolicy(max_attempts=20, backoff_s=1, max_backoff_s=5)

    assert backoff_delay(policy, 15, cap_s=60) <= 5
    assert backoff_delay(RetryPolicy(backoff_s=1), 30, cap_s=2) <= 2


async def test_a_step_past_its_timeout_fails(harness):
    definition = {"nodes": [{"id": "slow", "type": "test.sleep", "config": {"seconds": 5}, "timeout_s": 0.05}]}

    outcome = await harness.run(definition)

    assert outcome.status == "failed"
    assert outcome.steps["slow"].error == "timed out after 0.05 s"


async def test_a_timed_out_step_is_retried_when_its_policy_allows(harness, tracker):
    definition = {
        "nodes": [
            {
                "id": "slow",
                "type": "test.sleep",
                "config": {"seconds": 5},
                "timeout_s": 0.02,
                "retry": {"max_attempts": 2, "backoff_s": 0.001},
            }
        ]
    }

    outcome = await harness.run(definition)

    assert tracker.count("slow") == 2
    assert outcome.steps["slow"].error == "timed out after 0.02 s (after 2 attempts)"


async def test_an_execution_past_its_timeout_fails_and_stops_running_steps(harness, tracker):
    definition = {
        "nodes": [
            {"id": "a", "type": "test.echo"},
            {"id": "slow", "type": "test.sleep", "config": {"seconds": 5}},
            {"id": "never", "type": "test.echo"},
        ],
        "edges": [{"from": "a", "to": "slow"}, {"from": "slow", "to": "never"}],
        "timeout_s": 0.2,
    }

    outcome = await harness.run(definition)

    assert outcome.status == "failed"
    assert outcome.error == "the execution timed out after 0.2 s"
    steps = step_rows(harness.engine, outcome.execution_id)
    assert steps["a"].status == "succeeded"
    assert steps["slow"].status == "failed"
    assert "never" not in steps and "never" not in tracker.calls


async def test_cancel_is_honoured_between_steps(harness, tracker):
    definition = {
        "nodes": [
            {"id": "a", "type": "test.sleep", "config": {"seconds": 0.3}},
            {"id": "b", "type": "test.echo"},
            {"id": "c", "type": "test.echo"},
        ],
        "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}],
    }
    execution_id = harness.queue(definition)
    assert harness.store.claim(execution_id, "w1")

    def cancel_while_a_runs(_execution_id, event):
        if event.type == "step_started" and event.payload["node_id"] == "a":
            with Session(harness.engine) as session:
                session.get(Execution, execution_id).cancel_requested = True
                session.commit()

    outcome = await harness.runner(listeners=[cancel_while_a_runs]).run(execution_id)

    assert outcome.status == "cancelled"
    assert tracker.calls == ["a"]
    row = execution_row(harness.engine, execution_id)
    assert (row.status, row.error) == ("cancelled", "cancelled on request")
    assert event_rows(harness.engine, execution_id)[-1].payload["status"] == "cancelled"


async def test_draining_stops_new_steps_and_leaves_the_execution_unfinished(harness, tracker):
    definition = {
        "nodes": [{"id": "a", "type": "test.sleep", "config": {"seconds": 0.1}}, {"id": "b", "type": "test.echo"}],
        "edges": [{"from": "a", "to": "b"}],
    }
    execution_id = harness.queue(definition)
    harness.store.claim(execution_id, "w1")
    runner = harness.runner()

    task = asyncio.create_task(runner.run(execution_id))
    await asyncio.sleep(0.02)
    runner.drain()
    outcome = await task

    assert outcome.status == "interrupted"
    assert tracker.calls == ["a"]
    assert step_rows(harness.engine, execution_id)["a"].status == "succeeded"
    assert execution_row(harness.engine, execution_id).status == "running"
