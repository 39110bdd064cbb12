"""Workflow statistics and the caller's usage over the last 30 days."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from api.routes.stats import percentile
from shared.db.crud import create_workflow
from shared.db.models import Execution

GREET = {"nodes": [{"id": "greet", "type": "text.combine", "config": {"parts": ["hi"]}}]}
NOW = datetime.now(UTC)
TODAY = NOW.date()


def make_workflow(engine, owner_id) -> uuid.UUID:
    with Session(engine) as session:
        workflow, _ = create_workflow(session, owner_id, "wf", GREET)
        session.commit()
        return workflow.id


def add_run(engine, workflow_id, owner_id, status, *, days_ago=0, duration_ms=None, credits=0) -> None:
    queued_at = NOW - timedelta(days=days_ago)
    started_at = queued_at if duration_ms is not None else None
    finished_at = queued_at + timedelta(milliseconds=duration_ms) if duration_ms is not None else None
    with Session(engine) as session:
        session.add(
            Execution(
                workflow_id=workflow_id,
                version=1,
                owner_id=owner_id,
                trigger="api",
                status=status,
                credits_used=credits,
                queued_at=queued_at,
                started_at=started_at,
                finished_at=finished_at,
            )
        )
        session.commit()


def day(body: dict, days_ago: int) -> dict:
    wanted = (TODAY - timedelta(days=days_ago)).isoformat()
    return next(entry for entry in body["by_day"] if entry["day"] == wanted)


def test_workflow_stats_count_runs_outcomes_and_credits_of_the_last_30_days(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id)
    add_run(engine, workflow_id, caller.user_id, "succeeded", duration_ms=100, credits=2)
    add_run(engine, workflow_id, caller.user_id, "succeeded", days_ago=3, duration_ms=300, credits=1)
    add_run(engine, workflow_id, caller.user_id, "failed", days_ago=3, duration_ms=200, credits=1)
    add_run(engine, workflow_id, caller.user_id, "running")
    add_run(engine, workflow_id, caller.user_id, "succeeded", days_ago=40, duration_ms=9000, credits=50)

    body = caller.client.get(f"/api/workflows/{workflow_id}/stats").json()

    assert (body["runs"], body["succeeded"], body["failed"], body["credits"]) == (4, 2, 1, 4)
    assert body["success_rate"] == round(2 / 3, 4)
    assert (body["p50_duration_ms"], body["p95_duration_ms"]) == (200, 300)


def test_workflow_stats_have_one_entry_per_day_for_30_days(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id)
    add_run(engine, workflow_id, caller.user_id, "succeeded", duration_ms=10, credits=2)
    add_run(engine, workflow_id, caller.user_id, "failed", days_ago=29, duration_ms=10, credits=1)

    body = caller.client.get(f"/api/workflows/{workflow_id}/stats").json()

    assert len(body["by_day"]) == 30
    assert body["by_day"][0]["day"] == (TODAY - timedelta(days=29)).isoformat()
    assert body["by_day"][-1]["day"] == TODAY.isoformat()
    assert day(body, 0) == {"day": TODAY.isoformat(), "runs": 1, "succeeded": 1, "failed": 0, "credits": 2}
    assert (day(body, 29)["failed"], day(body, 5)["runs"]) == (1, 0)


def test_a_workflow_without_runs_has_zero_counts_and_no_rates(caller, engine):
    workflow_id = make_workflow(engine, caller.user_id)

    body = caller.client.get(f"/api/workflows/{workflow_id}/stats").json()

    assert (body["runs"], body["credits"], body["success_rate"]) == (0, 0, None)
    assert (body["p50_duration_ms"], body["p95_duration_ms"]) == (None, None)


def test_percentiles_are_nearest_rank_over_the_durations():
    durations = list(range(100, 2001, 100))  # 20 values

    assert (percentile(durations, 50), percentile(durations, 95), percentile(durations, 100)) == (1000, 1900, 2000)
    assert percentile([], 50) is None


def test_a_stranger_gets_404_for_the_stats_of_the_callers_workflow(caller, stranger, engine):
    workflow_id = make_workflow(engine, caller.user_id)

    response = stranger.client.get(f"/api/workflows/{workflow_id}/stats")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_stats_of_an_unknown_workflow_are_404(caller):
    assert caller.client.get(f"/api/workflows/{uuid.uuid4()}/stats").status_code == 404


def test_usage_gives_the_balance_and_the_callers_last_30_days(caller, stranger, engine):
    mine, theirs = make_workflow(engine, caller.user_id), make_workflow(engine, stranger.user_id)
    add_run(engine, mine, caller.user_id, "succeeded", credits=3)
    add_run(engine, mine, caller.user_id, "failed", days_ago=2, credits=1)
    add_run(engine, mine, caller.user_id, "succeeded", days_ago=31, credits=100)
    add_run(engine, theirs, stranger.user_id, "succeeded", credits=7)

    body = caller.client.get("/api/me/usage").json()

    assert (body["credits_balance"], body["credits_used_30d"], body["runs_30d"]) == (1000, 4, 2)
    assert len(body["by_day"]) == 30
    assert day(body, 2) == {
        "day": (TODAY - timedelta(days=2)).isoformat(),
        "runs": 1,
        "succeeded": 0,
        "failed": 1,
        "credits": 1,
    }


def test_usage_needs_an_api_key(anonymous):
    assert anonymous.get("/api/me/usage").status_code == 401
