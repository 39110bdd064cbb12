"""The tick's batch writes on PostgreSQL, each one constant statement with one array per column.

A multi-row `VALUES` or a `CASE id WHEN ...` with a parameter per value is a new, long statement
for every batch: SQLAlchemy expands it and psycopg re-parses its placeholders each time (the
profile of 10,000 due workflows showed ~2.5 s in psycopg's query splitting alone). `unnest` over
arrays keeps the text constant, so psycopg caches its parse and prepares it server-side after a
few runs, whatever the batch size. SQLite keeps the portable statements (`shared.scheduler.due`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

INSERT_EXECUTIONS = (
    "INSERT INTO executions (id, workflow_id, version, owner_id, trigger, status, input, attempt, credits_used, "
    "scheduled_for, cancel_requested, lane, queued_at, dispatched_at, error, finished_at) "
    "SELECT t.id, t.workflow_id, t.version, t.owner_id, 'schedule', t.status, '{}'::json, 1, 0, "
    "t.scheduled_for, false, t.lane, %s, t.dispatched_at, t.error, t.finished_at "
    "FROM unnest(%s::uuid[], %s::uuid[], %s::integer[], %s::uuid[], %s::varchar[], %s::timestamptz[], "
    "%s::varchar[], %s::timestamptz[], %s::text[], %s::timestamptz[]) "
    "AS t (id, workflow_id, version, owner_id, status, scheduled_for, lane, dispatched_at, error, finished_at) "
    "ON CONFLICT (workflow_id, scheduled_for) DO NOTHING RETURNING id"
)
ARRAY_COLUMNS = ("id", "workflow_id", "version", "owner_id", "status", "scheduled_for", "lane")
NULLABLE_COLUMNS = ("dispatched_at", "error", "finished_at")

ADVANCE_SCHEDULES = (
    "UPDATE workflows SET next_run_at = t.next_run_at "
    "FROM unnest(%s::uuid[], %s::timestamptz[]) AS t (id, next_run_at) WHERE workflows.id = t.id"
)

STAMP_DISPATCHED = "UPDATE executions SET dispatched_at = %s WHERE id = ANY(%s::uuid[]) AND dispatched_at IS NULL"


def insert_executions(conn: Connection, rows: Sequence[Mapping[str, Any]], queued_at: datetime) -> set[uuid.UUID]:
    """Scheduled executions (the constant columns of `due._execution_row` are written as literals);
    returns the ids inserted, fire times that already had an execution left out."""
    if not rows:
        return set()
    columns = [[row[name] for row in rows] for name in (*ARRAY_COLUMNS, *NULLABLE_COLUMNS)]
    return set(conn.exec_driver_sql(INSERT_EXECUTIONS, (queued_at, *columns)).scalars())


def advance_schedules(conn: Connection, next_run: Mapping[uuid.UUID, datetime | None]) -> None:
    conn.exec_driver_sql(ADVANCE_SCHEDULES, (list(next_run), list(next_run.values())))


def stamp_dispatched(conn: Connection, execution_ids: Sequence[uuid.UUID], at: datetime) -> None:
    conn.exec_driver_sql(STAMP_DISPATCHED, (at, list(execution_ids)))
