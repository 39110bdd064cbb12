"""Turning due schedules into executions: one transaction per batch of workflows.

On PostgreSQL the batch is claimed with `FOR UPDATE OF workflows SKIP LOCKED`, so concurrent ticks
share the work instead of waiting on each other; the unique (workflow_id, scheduled_for) key and
`ON CONFLICT DO NOTHING` make a repeated fire time harmless on either database.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from shared.credits import estimate_of, out_of_credits, out_of_credits_error
from shared.db.models import Execution, User, Workflow, WorkflowVersion
from shared.db.types import UTCDateTime
from shared.scheduling import CronSchedule, plan_due_runs

logger = logging.getLogger("flowbuilder.scheduler")

workflows = Workflow.__table__
versions = WorkflowVersion.__table__
executions = Execution.__table__
users = User.__table__

INSERT_CHUNK = 500  # rows per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits
_LANE_CACHE_SIZE = 10_000
_lanes: dict[tuple[uuid.UUID, int], str] = {}


@dataclass
class DueBatch:
    due: int = 0
    created: int = 0
    skipped_misfires: int = 0


def claim_due_batch(engine: Engine, now: datetime, batch_size: int) -> DueBatch:
    """Claim up to `batch_size` due workflows, queue their fire times and advance their `next_run_at`.
    Three statements in one transaction: the claiming SELECT, one multi-row INSERT, one UPDATE."""
    with engine.begin() as conn:
        rows = conn.execute(_due_query(now, batch_size)).mappings().all()
        if not rows:
            return DueBatch()
        batch = DueBatch(due=len(rows))
        new_rows: list[dict[str, Any]] = []
        next_run: dict[uuid.UUID, datetime | None] = {}
        for row in rows:
            fire_times, skipped, next_run[row["id"]] = _plan(row, now)
            batch.skipped_misfires += skipped
            new_rows += [_execution_row(row, fire_time, now) for fire_time in fire_times]
        batch.created = _insert_executions(conn, new_rows)
        _advance(conn, next_run)
    return batch


def _due_query(now: datetime, batch_size: int) -> sa.Select:
    version_join = (versions.c.workflow_id == workflows.c.id) & (versions.c.version == workflows.c.current_version)
    return (
        sa.select(
            workflows.c.id,
            workflows.c.owner_id,
            workflows.c.current_version,
            workflows.c.cron,
            workflows.c.timezone,
            workflows.c.misfire_policy,
            workflows.c.next_run_at,
            versions.c.definition,
            users.c.credits.label("owner_credits"),
        )
        .select_from(workflows.outerjoin(versions, version_join).join(users, users.c.id == workflows.c.owner_id))
        .where(
            workflows.c.schedule_enabled.is_(True),
            workflows.c.next_run_at <= now,
            workflows.c.status != "archived",
        )
        .order_by(workflows.c.next_run_at)
        .limit(batch_size)
        .with_for_update(of=workflows, skip_locked=True)
    )


def _plan(row: Mapping[str, Any], now: datetime) -> tuple[list[datetime], int, datetime | None]:
    """Fire times to queue, misfires dropped, and the new `next_run_at`. A schedule that no longer
    parses gets `next_run_at` NULL, so it stops coming back every tick until it is saved again."""
    try:
        schedule = CronSchedule.parse(row["cron"], row["timezone"])
        runs = plan_due_runs(schedule, row["next_run_at"], now, row["misfire_policy"])
    except ValueError as exc:  # ScheduleError, or a cron with no fire time left
        logger.warning("workflow %s: schedule unusable, not firing until saved again: %s", row["id"], exc)
        return [], 0, None
    if runs.skipped:
        logger.info("workflow %s: %d missed fire time(s) skipped", row["id"], runs.skipped)
    return runs.fire_times, runs.skipped, runs.next_run_at


def _execution_row(row: Mapping[str, Any], fire_time: datetime, now: datetime) -> dict[str, Any]:
    """A queued execution, or, when the owner is out of credits, one that is failed at once and
    says why (never dispatched: `dispatched_at` is set)."""
    execution = {
        "id": uuid.uuid4(),
        "workflow_id": row["id"],
        "version": row["current_version"],
        "owner_id": row["owner_id"],
        "trigger": "schedule",
        "status": "queued",
        "input": {},
        "attempt": 1,
        "credits_used": 0,
        "scheduled_for": fire_time,
        "cancel_requested": False,
        "lane": lane_of(row["id"], row["current_version"], row["definition"]),
        "queued_at": now,
        "dispatched_at": None,
        "error": None,
        "finished_at": None,
    }
    estimate = estimate_of(row["id"], row["current_version"], row["definition"])
    if out_of_credits(row["owner_credits"], estimate):
        error = out_of_credits_error(row["owner_credits"], estimate)
        execution.update(status="failed", error=error, finished_at=now, dispatched_at=now)
    return execution


def _insert_executions(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert, skipping fire times that already have an execution; returns how many were new."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    created = 0
    statement = (
        insert(executions)
        .on_conflict_do_nothing(index_elements=["workflow_id", "scheduled_for"])
        .returning(executions.c.id)
    )
    for start in range(0, len(rows), INSERT_CHUNK):
        # Rows as executemany parameters: SQLAlchemy's "insertmanyvalues" sends them as multi-row
        # INSERTs from one cached compiled statement (compiling `.values(rows)` per batch cost more
        # than the database did).
        created += len(conn.execute(statement, list(rows[start : start + INSERT_CHUNK])).all())
    return created


def _advance(conn: Connection, next_run: Mapping[uuid.UUID, datetime | None]) -> None:
    """One UPDATE for the whole batch: `next_run_at = CASE id WHEN ... END`."""
    when = {workflow_id: sa.bindparam(None, value, type_=UTCDateTime()) for workflow_id, value in next_run.items()}
    conn.execute(
        workflows.update()
        .where(workflows.c.id.in_(list(next_run)))
        .values(next_run_at=sa.case(when, value=workflows.c.id))
    )


def lane_of(workflow_id: uuid.UUID, version: int, definition: Any) -> str:
    """The lane of a workflow version's plan, cached per (workflow, version): versions never change.
    A definition that no longer validates runs (and fails, saying why) on the light lane."""
    key = (workflow_id, version)
    lane = _lanes.get(key)
    if lane is None:
        lane = _plan_lane(definition)
        if len(_lanes) >= _LANE_CACHE_SIZE:
            _lanes.clear()
        _lanes[key] = lane
    return lane


def _plan_lane(definition: Any) -> str:
    from shared.engine.planner import build_plan
    from shared.engine.validation import DefinitionInvalid, parse_definition
    from shared.nodes import default_registry

    if definition is None:
        return "light"
    registry = default_registry()
    try:
        return build_plan(parse_definition(definition, registry), registry).lane
    except DefinitionInvalid:
        return "light"
