"""The runner's write on PostgreSQL as one prepared statement.

SQLAlchemy would compile a multi-row statement anew for every batch shape and value set (about
2 ms each), so the SQL text is built once per shape (steps or not, events or not, final or not)
and psycopg prepares it server-side; the rows travel as JSON (`json_to_recordset`). Steps and
events are written by data-modifying CTEs of the execution's update: one round trip, atomic in
autocommit. Writes made while a run goes on commit asynchronously
(`synchronous_commit` off for that statement's transaction only)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from shared.engine.store import StepWrite, WriteBatch

STEPS_CTE = (
    "written_steps AS (INSERT INTO step_runs "
    "(id, execution_id, node_id, node_type, status, attempt, input, output, error, started_at, finished_at, credits) "
    "SELECT gen_random_uuid(), %(id)s, r.node_id, r.node_type, r.status, r.attempt, r.input, r.output, r.error, "
    "r.started_at, r.finished_at, r.credits FROM json_to_recordset(%(steps)s::json) AS r (node_id text, "
    "node_type text, status text, attempt integer, input json, output json, error text, started_at timestamptz, "
    "finished_at timestamptz, credits integer) "
    "ON CONFLICT (execution_id, node_id) DO UPDATE SET node_type = EXCLUDED.node_type, status = EXCLUDED.status, "
    "attempt = EXCLUDED.attempt, input = EXCLUDED.input, output = EXCLUDED.output, error = EXCLUDED.error, "
    "finished_at = EXCLUDED.finished_at, credits = EXCLUDED.credits, "
    "started_at = COALESCE(EXCLUDED.started_at, step_runs.started_at))"
)
EVENTS_CTE = (
    "written_events AS (INSERT INTO execution_events (id, execution_id, seq, type, payload, at) "
    "SELECT gen_random_uuid(), %(id)s, r.seq, r.type, r.payload, r.at FROM json_to_recordset(%(events)s::json) "
    "AS r (seq integer, type text, payload json, at timestamptz))"
)
CHARGE_CTES = (
    "charged AS (INSERT INTO credit_ledger (id, owner_id, delta, reason, execution_id, node_id, at) "
    "SELECT gen_random_uuid(), e.owner_id, -c.credits, 'step', e.id, c.node_id, c.at "
    "FROM json_to_recordset(%(charges)s::json) AS c (node_id text, credits integer, at timestamptz) "
    "JOIN executions e ON e.id = %(id)s), "
    "debited AS (UPDATE users SET credits = users.credits - %(charged)s "
    "FROM executions e WHERE e.id = %(id)s AND users.id = e.owner_id)"
)


@lru_cache(maxsize=32)
def _sql(steps: bool, events: bool, final: bool, charges: bool) -> str:
    ctes = [] if final else ["relaxed AS (SELECT set_config('synchronous_commit', 'off', true) AS value)"]
    if steps:
        ctes.append(STEPS_CTE)
    if events:
        ctes.append(EVENTS_CTE)
    if charges:  # finished steps that cost credits: ledger rows and the owner's balance (shared.credits)
        ctes.append(CHARGE_CTES)
    assignments = "heartbeat_at = %(now)s"
    if final:
        assignments += (
            ", status = %(status)s, output = %(output)s::json, error = %(error)s, "
            "credits_used = %(credits_used)s, finished_at = %(finished_at)s"
        )
    condition = "id = %(id)s" if final else "id = %(id)s AND (SELECT value FROM relaxed) IS NOT NULL"
    prefix = f"WITH {', '.join(ctes)} " if ctes else ""
    return f"{prefix}UPDATE executions SET {assignments} WHERE {condition} RETURNING cancel_requested"  # noqa: S608 constants only


def write_sql(step_count: int, event_count: int, final: bool, charge_count: int = 0) -> str:
    """The statement for a batch of that shape. Rows travel as one JSON parameter per table, so
    there are at most 16 statements, each short enough for psycopg to cache its parsing and
    prepare it (a statement per row count was re-parsed on every write)."""
    return _sql(step_count > 0, event_count > 0, final, charge_count > 0)


def write_params(
    execution_id: uuid.UUID, batch: WriteBatch, steps: list[StepWrite], charges: Sequence[StepWrite] = ()
) -> dict[str, Any]:
    params: dict[str, Any] = {"id": execution_id, "now": datetime.now(UTC)}
    if steps:
        params["steps"] = _rows(
            {
                "node_id": step.node_id,
                "node_type": step.node_type,
                "status": step.status,
                "attempt": step.attempt,
                "input": step.input,
                "output": step.output,
                "error": step.error,
                "started_at": _time(step.started_at),
                "finished_at": _time(step.finished_at),
                "credits": step.credits,
            }
            for step in steps
        )
    if batch.events:
        params["events"] = _rows(
            {"seq": event.seq, "type": event.type, "payload": event.payload, "at": _time(event.at)}
            for event in batch.events
        )
    if charges:
        params["charges"] = _rows(
            {"node_id": charge.node_id, "credits": charge.credits, "at": _time(charge.finished_at or datetime.now(UTC))}
            for charge in charges
        )
        params["charged"] = sum(charge.credits for charge in charges)
    if batch.execution is not None:
        state = batch.execution
        params.update(
            status=state.status,
            output=_json(state.output),
            error=state.error,
            credits_used=state.credits_used,
            finished_at=state.finished_at,
        )
    return params


def _rows(rows: Any) -> str:
    return json.dumps(list(rows), separators=(",", ":"))


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))
