"""Workflows, their versions and schedules as plain functions over a session (no HTTP).

Every lookup takes the owner: another owner's workflow is simply not found. Versions are never
updated or deleted here; a changed definition, or a rollback, appends one. Callers commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from shared.db.crud import create_workflow
from shared.db.models import Workflow, WorkflowVersion
from shared.db.types import utcnow


def get_owned_workflow(
    session: Session, owner_id: uuid.UUID, workflow_id: uuid.UUID, *, for_update: bool = False
) -> Workflow | None:
    """The workflow when `owner_id` owns it; `for_update` locks its row (PostgreSQL) so that two
    writers can't both append the same version number."""
    query = select(Workflow).where(Workflow.id == workflow_id, Workflow.owner_id == owner_id)
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


OWNED_ROW = (
    sa.select(*Workflow.__table__.columns, WorkflowVersion.definition)
    .outerjoin(
        WorkflowVersion,
        sa.and_(WorkflowVersion.workflow_id == Workflow.id, WorkflowVersion.version == Workflow.current_version),
    )
    .where(Workflow.id == sa.bindparam("workflow_id"), Workflow.owner_id == sa.bindparam("owner_id"))
)
"""Built once: reading one workflow is the API's most frequent request."""


def owned_workflow_row(session: Session, owner_id: uuid.UUID, workflow_id: uuid.UUID) -> sa.RowMapping | None:
    """The workflow's columns and its current `definition` as one row, when `owner_id` owns it: one
    round trip, and plain values rather than ORM objects, which cost more to build than the query."""
    result = session.connection().execute(OWNED_ROW, {"workflow_id": workflow_id, "owner_id": owner_id})
    return result.mappings().first()


def list_workflows(
    session: Session,
    owner_id: uuid.UUID,
    *,
    q: str | None = None,
    status: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[tuple[Workflow, dict[str, Any] | None]], int]:
    """A page of the owner's workflows with their current definitions, most recently updated first,
    and how many match in all. `q` matches name or description, ignoring case; archived workflows
    are listed only when `status` asks for them."""
    conditions = [Workflow.owner_id == owner_id]
    conditions.append(Workflow.status == status if status else Workflow.status != "archived")
    if q:
        needle = q.lower()
        conditions.append(
            sa.or_(
                func.lower(Workflow.name).contains(needle, autoescape=True),
                func.lower(Workflow.description).contains(needle, autoescape=True),
            )
        )
    total = session.exec(select(func.count()).select_from(Workflow).where(*conditions)).one()
    current = sa.and_(WorkflowVersion.workflow_id == Workflow.id, WorkflowVersion.version == Workflow.current_version)
    rows = session.exec(
        select(Workflow, WorkflowVersion.definition)
        .outerjoin(WorkflowVersion, current)
        .where(*conditions)
        .order_by(col(Workflow.updated_at).desc(), col(Workflow.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [(workflow, definition) for workflow, definition in rows], total


def new_workflow(
    session: Session,
    owner_id: uuid.UUID,
    name: str,
    definition: dict[str, Any],
    *,
    description: str = "",
    status: str = "draft",
) -> Workflow:
    workflow, _ = create_workflow(session, owner_id, name, definition, description=description, status=status)
    return workflow


def get_version(session: Session, workflow_id: uuid.UUID, version: int) -> WorkflowVersion | None:
    return session.exec(
        select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.version == version)
    ).first()


def current_definition(session: Session, workflow: Workflow) -> dict[str, Any]:
    found = get_version(session, workflow.id, workflow.current_version)
    return found.definition if found is not None else {}


def list_versions(
    session: Session, workflow_id: uuid.UUID, *, limit: int = 20, offset: int = 0
) -> tuple[list[WorkflowVersion], int]:
    """A page of a workflow's versions, newest first, and how many there are."""
    mine = WorkflowVersion.workflow_id == workflow_id
    total = session.exec(select(func.count()).select_from(WorkflowVersion).where(mine)).one()
    versions = session.exec(
        select(WorkflowVersion).where(mine).order_by(col(WorkflowVersion.version).desc()).limit(limit).offset(offset)
    ).all()
    return list(versions), total


def append_version(session: Session, workflow: Workflow, definition: dict[str, Any]) -> WorkflowVersion:
    """A new current version holding `definition`, whatever the current one holds. The number is
    taken by an atomic increment, so concurrent writers get distinct numbers on SQLite too (where
    `get_owned_workflow(for_update=True)` locks nothing)."""
    now = utcnow()
    number = session.execute(
        sa.update(Workflow)
        .where(col(Workflow.id) == workflow.id)
        .values(current_version=col(Workflow.current_version) + 1, updated_at=now)
        .returning(col(Workflow.current_version)),
        execution_options={"synchronize_session": False},
    ).scalar_one()
    workflow.current_version, workflow.updated_at = number, now
    version = WorkflowVersion(workflow_id=workflow.id, version=workflow.current_version, definition=definition)
    session.add(version)
    session.add(workflow)
    session.flush()
    return version


def update_workflow(session: Session, workflow: Workflow, changes: dict[str, Any]) -> bool:
    """Apply `changes` (name, description, status, definition); a definition that differs from the
    current one becomes a new version, an equal one is ignored. Archiving switches the schedule off.
    True when anything changed."""
    changed = False
    definition = changes.get("definition")
    if definition is not None and definition != current_definition(session, workflow):
        append_version(session, workflow, definition)
        changed = True
    for field in ("name", "description", "status"):
        value = changes.get(field)
        if value is not None and getattr(workflow, field) != value:
            setattr(workflow, field, value)
            changed = True
    if changes.get("status") == "archived" and (workflow.schedule_enabled or workflow.next_run_at is not None):
        workflow.schedule_enabled, workflow.next_run_at = False, None
        changed = True
    if changed:
        workflow.updated_at = utcnow()
        session.add(workflow)
        session.flush()
    return changed


def archive_workflow(session: Session, workflow: Workflow) -> None:
    """Archived workflows stay readable but stop firing: the schedule (kept) is switched off."""
    update_workflow(session, workflow, {"status": "archived"})


def delete_workflow(session: Session, workflow: Workflow) -> None:
    """Deletes the workflow; the database cascades to its versions, executions and their steps."""
    session.execute(sa.delete(Workflow).where(col(Workflow.id) == workflow.id))
    session.expunge(workflow)


def save_schedule(
    session: Session,
    workflow: Workflow,
    *,
    cron: str,
    timezone: str,
    misfire_policy: str,
    enabled: bool,
    next_run_at: datetime | None,
) -> None:
    """Store an already validated schedule; `next_run_at` is None when it is disabled."""
    workflow.cron, workflow.timezone, workflow.misfire_policy = cron, timezone, misfire_policy
    workflow.schedule_enabled = enabled
    workflow.next_run_at = next_run_at if enabled else None
    workflow.updated_at = utcnow()
    session.add(workflow)
    session.flush()


def set_schedule_enabled(session: Session, workflow: Workflow, next_run_at: datetime | None) -> None:
    """Enable the schedule firing next at `next_run_at`, or disable it when that is None."""
    workflow.schedule_enabled = next_run_at is not None
    workflow.next_run_at = next_run_at
    workflow.updated_at = utcnow()
    session.add(workflow)
    session.flush()


def clear_schedule(session: Session, workflow: Workflow) -> None:
    workflow.cron = None
    workflow.timezone, workflow.misfire_policy = "UTC", "skip"
    workflow.schedule_enabled = False
    workflow.next_run_at = None
    workflow.updated_at = utcnow()
    session.add(workflow)
    session.flush()
