"""Turning due schedules into executions: one transaction per batch of workflows.

On PostgreSQL the batch is claimed with `FOR UPDATE OF workflows SKIP LOCKED`, so concurrent ticks
share the work instead of waiting on each other; the unique (workflow_id, scheduled_for) key and
`ON CONFLICT DO NOTHING` make a repeated fire time harmless on either database. PostgreSQL's
writes are constant statements over arrays (`shared.scheduler.pg_batch`).

Per row, the hot path is cron maths and two facts of the workflow version, its lane and its credit
estimate: plans are cached per (cron, time zone, fire time, now, policy), and the facts per
(workflow, version), read from the node types alone (versions are validated when saved, and never
change).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from shared.credits import out_of_credits, out_of_credits_error
from shared.db.models import Execution, User, Workflow, WorkflowVersion
from shared.db.types import UTCDateTime
from shared.identity.guests import trial_ended_at
from shared.scheduler import pg_batch
from shared.scheduling import CronSchedule, DueRuns, plan_due_runs
from shared.version_memo import VersionMemo

logger = logging.getLogger("flowbuilder.scheduler")

workflows = Workflow.__table__
versions = WorkflowVersion.__table__
executions = Execution.__table__
users = User.__table__

INSERT_CHUNK = 500  # rows per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits
_facts: VersionMemo[tuple[str, int]] = VersionMemo(max_entries=100_000)


@dataclass
class DueBatch:
    due: int = 0
    created: int = 0
    skipped_misfires: int = 0
    refused_credits: int = 0
    """Executions created failed, never dispatched: the owner was out of credits."""
    disabled_guest_schedules: int = 0
    """Due schedules of guests whose trial has ended: disabled, nothing queued."""


def claim_due_batch(engine: Engine, now: datetime, batch_size: int) -> DueBatch:
    """Claim up to `batch_size` due workflows, queue their fire times and advance their `next_run_at`.
    Three statements in one transaction: the claiming SELECT, one multi-row INSERT, one UPDATE (a
    fourth when a guest's trial has ended: their schedules are disabled, nothing is queued)."""
    with engine.begin() as conn:
        rows = conn.execute(_due_query(now, batch_size)).mappings().all()
        if not rows:
            return DueBatch()
        batch = DueBatch(due=len(rows))
        new_rows: list[dict[str, Any]] = []
        next_run: dict[uuid.UUID, datetime | None] = {}
        ended_trials: list[uuid.UUID] = []
        for row in rows:
            if row["owner_trial_ended"]:
                ended_trials.append(row["id"])
                next_run[row["id"]] = None
                continue
            fire_times, skipped, next_run[row["id"]] = _plan(row, now)
            batch.skipped_misfires += skipped
            new_rows += [_execution_row(row, fire_time, now) for fire_time in fire_times]
        if conn.dialect.name == "postgresql":
            created = pg_batch.insert_executions(conn, new_rows, now)
            pg_batch.advance_schedules(conn, next_run)
        else:
            created = _insert_executions(conn, new_rows)
            _advance(conn, next_run)
        batch.created = len(created)
        batch.refused_credits = _log_refused(new_rows, created)
        if ended_trials:
            batch.disabled_guest_schedules = _disable_schedules(conn, ended_trials, now)
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
            trial_ended_at(now).label("owner_trial_ended"),
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
        runs = _due_runs(row["cron"], row["timezone"], row["next_run_at"], now, row["misfire_policy"])
    except ValueError as exc:  # ScheduleError, or a cron with no fire time left
        logger.warning("workflow %s: schedule unusable, not firing until saved again: %s", row["id"], exc)
        return [], 0, None
    if runs.skipped:
        logger.info("workflow %s: %d missed fire time(s) skipped", row["id"], runs.skipped)
    return runs.fire_times, runs.skipped, runs.next_run_at


@functools.lru_cache(maxsize=4096)
def _due_runs(cron: str, timezone: str, next_run_at: datetime, now: datetime, policy: str) -> DueRuns:
    """Workflows on the same schedule, due at the same instant, have the same plan: popular crons
    ("0 * * * *") fire together, so within a tick this is mostly one computation per schedule."""
    return plan_due_runs(_schedule(cron, timezone), next_run_at, now, policy)


@functools.lru_cache(maxsize=4096)
def _schedule(cron: str, timezone: str) -> CronSchedule:
    return CronSchedule.parse(cron, timezone)


def _execution_row(row: Mapping[str, Any], fire_time: datetime, now: datetime) -> dict[str, Any]:
    """A queued execution, or, when the owner is out of credits, one that is failed at once and
    says why (never dispatched: `dispatched_at` is set). `pg_batch.insert_executions` writes the
    constant columns as literals: keep the two in step."""
    lane, estimate = version_facts(row["id"], row["current_version"], row["definition"])
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
        "lane": lane,
        "queued_at": now,
        "dispatched_at": None,
        "error": None,
        "finished_at": None,
    }
    if out_of_credits(row["owner_credits"], estimate):
        error = out_of_credits_error(row["owner_credits"], estimate)
        execution.update(status="failed", error=error, finished_at=now, dispatched_at=now)
    return execution


def _insert_executions(conn: Connection, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert, skipping fire times that already have an execution; returns the ids of the new ones."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    created: set[uuid.UUID] = set()
    statement = (
        insert(executions)
        .on_conflict_do_nothing(index_elements=["workflow_id", "scheduled_for"])
        .returning(executions.c.id)
    )
    for start in range(0, len(rows), INSERT_CHUNK):
        # Rows as executemany parameters: SQLAlchemy's "insertmanyvalues" sends them as multi-row
        # INSERTs from one cached compiled statement (compiling `.values(rows)` per batch cost more
        # than the database did).
        created.update(conn.execute(statement, list(rows[start : start + INSERT_CHUNK])).scalars())
    return created


def _log_refused(rows: Sequence[dict[str, Any]], created: set[uuid.UUID]) -> int:
    refused = [row for row in rows if row["status"] == "failed" and row["id"] in created]
    for row in refused:
        logger.info("workflow %s: run at %s not dispatched: %s", row["workflow_id"], row["scheduled_for"], row["error"])
    return len(refused)


def _disable_schedules(conn: Connection, workflow_ids: list[uuid.UUID], now: datetime) -> int:
    """Guests whose trial has ended get no more scheduled runs (`shared.scheduler.guest_cleanup`
    disables the rest of their schedules, and deletes their data after the retention period)."""
    logger.info("%d schedule(s) of guests whose trial has ended: disabled, not run", len(workflow_ids))
    conn.execute(
        workflows.update().where(workflows.c.id.in_(workflow_ids)).values(schedule_enabled=False, updated_at=now)
    )
    return len(workflow_ids)


def _advance(conn: Connection, next_run: Mapping[uuid.UUID, datetime | None]) -> None:
    """One UPDATE for the whole batch: `next_run_at = CASE id WHEN ... END`."""
    when = {workflow_id: sa.bindparam(None, value, type_=UTCDateTime()) for workflow_id, value in next_run.items()}
    conn.execute(
        workflows.update()
        .where(workflows.c.id.in_(list(next_run)))
        .values(next_run_at=sa.case(when, value=workflows.c.id))
    )


def version_facts(workflow_id: uuid.UUID, version: int, definition: Any) -> tuple[str, int]:
    """(lane, credit estimate) of a workflow version, kept per (workflow, version)."""
    return _facts.get_or_compute(workflow_id, version, lambda: _facts_of(definition))


def _facts_of(definition: Any) -> tuple[str, int]:
    """What `Plan.lane` and `Plan.credit_estimate` say, from the node types alone: building the
    plan validates every node's config, ten times the cost, and saved versions are validated
    already. A definition that cannot be read (an unknown node type) runs on the light lane with
    no estimate, and fails there, saying why."""
    from shared.nodes import default_registry
    from shared.nodes.registry import UnknownNodeType

    registry = default_registry()
    try:
        types = [registry.get(node["type"]) for node in definition["nodes"]]
    except (UnknownNodeType, KeyError, TypeError):
        return "light", 0
    lane = "browser" if any(node_type.lane == "browser" for node_type in types) else "light"
    return lane, sum(node_type.cost for node_type in types)
