"""The runner's write on PostgreSQL as one prepared statement.

SQLAlchemy would compile a multi-row statement anew for every batch shape and value set (about
2 ms each), so the SQL text is built once per shape (steps, events, final) and psycopg prepares
it server-side. Steps and events are written by data-modifying CTEs of the execution's update:
one round trip, atomic in autocommit. Writes made while a run goes on commit asynchronously
(`synchronous_commit` off for that statement's transaction only)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from shared.engine.store import StepWrite, WriteBatch

STEP_COLUMNS = (
    "id, execution_id, node_id, node_type, status, attempt, input, output, error, started_at, finished_at, credits"
)
STEP_ROW = "(%s, %s, %s, %s, %s, %s, %s::json, %s::json, %s, %s, %s, %s)"
STEP_CONFLICT = (
    "ON CONFLICT (execution_id, node_id) DO UPDATE SET node_type = EXCLUDED.node_type, status = EXCLUDED.status, "
    "attempt = EXCLUDED.attempt, input = EXCLUDED.input, output = EXCLUDED.output, error = EXCLUDED.error, "
    "finished_at = EXCLUDED.finished_at, credits = EXCLUDED.credits, "
    "started_at = COALESCE(EXCLUDED.started_at, step_runs.started_at)"
)
EVENT_ROW = "(%s, %s, %s, %s, %s::json, %s)"
CHARGE_ROW = "(%s::uuid, %s, %s::integer, %s::timestamptz)"
CHARGE_CTES = (
    "charged AS (INSERT INTO credit_ledger (id, owner_id, delta, reason, execution_id, node_id, at) "
    "SELECT c.id, e.owner_id, -c.credits, 'step', e.id, c.node_id, c.at "
    "FROM (VALUES {rows}) AS c (id, node_id, credits, at) JOIN executions e ON e.id = %s), "
    "debited AS (UPDATE users SET credits = users.credits - %s "
    "FROM executions e WHERE e.id = %s AND users.id = e.owner_id)"
)


@lru_cache(maxsize=512)
def write_sql(step_count: int, event_count: int, final: bool, charge_count: int = 0) -> str:
    ctes = [] if final else ["relaxed AS (SELECT set_config('synchronous_commit', 'off', true) AS value)"]
    if step_count:
        rows = ", ".join([STEP_ROW] * step_count)
        ctes.append(f"written_steps AS (INSERT INTO step_runs ({STEP_COLUMNS}) VALUES {rows} {STEP_CONFLICT})")  # noqa: S608 constants and counts only
    if event_count:
        rows = ", ".join([EVENT_ROW] * event_count)
        ctes.append(
            f"written_events AS (INSERT INTO execution_events (id, execution_id, seq, type, payload, at) VALUES {rows})"  # noqa: S608
        )
    if charge_count:  # finished steps that cost credits: ledger rows and the owner's balance (shared.credits)
        ctes.append(CHARGE_CTES.replace("{rows}", ", ".join([CHARGE_ROW] * charge_count)))
    assignments = "heartbeat_at = %s"
    if final:
        assignments += ", status = %s, output = %s::json, error = %s, credits_used = %s, finished_at = %s"
    condition = "id = %s" if final else "id = %s AND (SELECT value FROM relaxed) IS NOT NULL"
    prefix = f"WITH {', '.join(ctes)} " if ctes else ""
    return f"{prefix}UPDATE executions SET {assignments} WHERE {condition} RETURNING cancel_requested"  # noqa: S608


def write_params(
    execution_id: uuid.UUID, batch: WriteBatch, steps: list[StepWrite], charges: Sequence[StepWrite] = ()
) -> tuple[Any, ...]:
    params: list[Any] = []
    for step in steps:
        params += [
            uuid.uuid4(),
            execution_id,
            step.node_id,
            step.node_type,
            step.status,
            step.attempt,
            _json(step.input),
            _json(step.output),
            step.error,
            step.started_at,
            step.finished_at,
            step.credits,
        ]
    for event in batch.events:
        params += [uuid.uuid4(), execution_id, event.seq, event.type, _json(event.payload), event.at]
    if charges:
        for charge in charges:
            params += [uuid.uuid4(), charge.node_id, charge.credits, charge.finished_at or datetime.now(UTC)]
        params += [execution_id, sum(charge.credits for charge in charges), execution_id]
    params.append(datetime.now(UTC))
    if batch.execution is not None:
        state = batch.execution
        params += [state.status, _json(state.output), state.error, state.credits_used, state.finished_at]
    params.append(execution_id)
    return tuple(params)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))
