"""Creating the records a run needs, as plain functions over a session (no HTTP, no CLI)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from shared.db.models import Execution, User, Workflow, WorkflowVersion
from shared.db.types import utcnow

LOCAL_USER_EMAIL = "local@flowbuilder.localhost"


def ensure_local_user(session: Session, *, starting_credits: int = 1_000_000) -> User:
    """The single user of a local install, created on first use."""
    user = session.exec(select(User).where(User.kind == "local")).first()
    if user is None:
        user = User(kind="local", email=LOCAL_USER_EMAIL, credits=starting_credits)
        session.add(user)
        session.flush()
    return user


def find_user(session: Session, id_or_email: str) -> User | None:
    """A user by id, or by email when the text is not a UUID (operators' commands take either)."""
    try:
        condition = User.id == uuid.UUID(id_or_email)
    except ValueError:
        condition = User.email == id_or_email
    return session.exec(select(User).where(condition)).first()


def create_workflow(
    session: Session,
    owner_id: uuid.UUID,
    name: str,
    definition: dict[str, Any],
    *,
    description: str = "",
    status: str = "active",
) -> tuple[Workflow, WorkflowVersion]:
    workflow = Workflow(owner_id=owner_id, name=name, description=description, status=status, current_version=1)
    session.add(workflow)
    session.flush()
    version = WorkflowVersion(workflow_id=workflow.id, version=1, definition=definition)
    session.add(version)
    session.flush()
    return workflow, version


def queue_execution(
    session: Session,
    workflow: Workflow,
    *,
    trigger: str,
    input: dict[str, Any] | None = None,
    lane: str = "light",
    version: int | None = None,
    scheduled_for: datetime | None = None,
    idempotency_key: str | None = None,
    parent_execution_id: uuid.UUID | None = None,
) -> Execution:
    execution = Execution(
        workflow_id=workflow.id,
        version=version or workflow.current_version,
        owner_id=workflow.owner_id,
        trigger=trigger,
        status="queued",
        input=input or {},
        lane=lane,
        queued_at=utcnow(),
        scheduled_for=scheduled_for,
        idempotency_key=idempotency_key,
        parent_execution_id=parent_execution_id,
    )
    session.add(execution)
    session.flush()
    return execution


def save_workflow_definition(
    session: Session, owner_id: uuid.UUID, name: str, definition: dict[str, Any], *, description: str = ""
) -> Workflow:
    """The owner's workflow of that name, with `definition` as its current version: created on
    first use, and given a new version only when the definition changed."""
    workflow = session.exec(
        select(Workflow).where(Workflow.owner_id == owner_id, Workflow.name == name).order_by(Workflow.created_at)
    ).first()
    if workflow is None:
        workflow, _ = create_workflow(session, owner_id, name, definition, description=description)
        return workflow
    current = session.exec(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow.id, WorkflowVersion.version == workflow.current_version
        )
    ).one()
    if current.definition != definition:
        workflow.current_version += 1
        workflow.updated_at = utcnow()
        session.add(WorkflowVersion(workflow_id=workflow.id, version=workflow.current_version, definition=definition))
        session.add(workflow)
        session.flush()
    return workflow
