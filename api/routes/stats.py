"""Statistics of a workflow and the caller's usage over the last 30 days (UTC calendar days).

Rows are aggregated in Python (percentiles included), so the figures are the same on SQLite and
PostgreSQL; a window is at most 30 days of one owner's executions, three timestamps and two small
values each.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep
from api.errors import not_found
from api.schemas.executions import DayFigures, Usage, WorkflowStats
from shared.credits import balance_of
from shared.db.execution_crud import execution_figures_since, owned_workflow

router = APIRouter(tags=["stats"])

WINDOW_DAYS = 30


def window_start(now: datetime) -> datetime:
    """Midnight UTC at the start of the oldest of the last 30 calendar days (today included)."""
    first_day = now.astimezone(UTC).date() - timedelta(days=WINDOW_DAYS - 1)
    return datetime.combine(first_day, time(), tzinfo=UTC)


def percentile(sorted_values: Sequence[int], p: float) -> int | None:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def by_day(rows: Sequence[sa.Row], since: datetime) -> list[DayFigures]:
    days = {
        since.date() + timedelta(days=offset): DayFigures(day=since.date() + timedelta(days=offset))
        for offset in range(WINDOW_DAYS)
    }
    for row in rows:
        figures = days.get(row.queued_at.astimezone(UTC).date())
        if figures is None:
            continue
        figures.runs += 1
        figures.succeeded += row.status == "succeeded"
        figures.failed += row.status == "failed"
        figures.credits += row.credits_used
    return list(days.values())


def _duration_ms(row: sa.Row) -> int | None:
    if row.status not in ("succeeded", "failed") or row.started_at is None or row.finished_at is None:
        return None
    return max(0, round((row.finished_at - row.started_at).total_seconds() * 1000))


@router.get("/workflows/{workflow_id}/stats", response_model=WorkflowStats)
def workflow_stats(workflow_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> WorkflowStats:
    """Runs of the workflow queued in the last 30 days: how many succeeded and failed, the success
    rate, p50/p95 duration of finished runs, credits used, and the same per day."""
    workflow = owned_workflow(session, user.id, workflow_id)
    if workflow is None:
        raise not_found("workflow")
    since = window_start(datetime.now(UTC))
    rows = execution_figures_since(session, since, owner_id=user.id, workflow_id=workflow.id)
    durations = sorted(d for row in rows if (d := _duration_ms(row)) is not None)
    succeeded = sum(row.status == "succeeded" for row in rows)
    failed = sum(row.status == "failed" for row in rows)
    return WorkflowStats(
        workflow_id=workflow.id,
        since=since,
        runs=len(rows),
        succeeded=succeeded,
        failed=failed,
        success_rate=round(succeeded / (succeeded + failed), 4) if succeeded + failed else None,
        p50_duration_ms=percentile(durations, 50),
        p95_duration_ms=percentile(durations, 95),
        credits=sum(row.credits_used for row in rows),
        by_day=by_day(rows, since),
    )


@router.get("/me/usage", response_model=Usage)
def my_usage(session: SessionDep, user: CurrentUser) -> Usage:
    """The caller's credit balance, and the runs and credits of the last 30 days, in all and per day."""
    since = window_start(datetime.now(UTC))
    rows = execution_figures_since(session, since, owner_id=user.id)
    return Usage(
        credits_balance=balance_of(session, user.id),
        credits_used_30d=sum(row.credits_used for row in rows),
        runs_30d=len(rows),
        since=since,
        by_day=by_day(rows, since),
    )
