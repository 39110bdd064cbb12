"""Executions of workflows, their steps, their event stream and the artifacts they leave."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from shared.db.types import UTCDateTime, new_id, utcnow


class Execution(SQLModel, table=True):
    __tablename__ = "executions"
    __table_args__ = (
        sa.UniqueConstraint("workflow_id", "scheduled_for", name="uq_executions_fire_time"),
        sa.UniqueConstraint("workflow_id", "idempotency_key", name="uq_executions_idempotency"),
        sa.Index("ix_executions_owner_status", "owner_id", "status", "queued_at"),
        sa.Index("ix_executions_workflow", "workflow_id", "queued_at"),
        sa.Index("ix_executions_outbox", "status", "dispatched_at"),
        sa.Index("ix_executions_heartbeat", "status", "heartbeat_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    workflow_id: uuid.UUID = Field(foreign_key="workflows.id", ondelete="CASCADE")
    version: int
    owner_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    trigger: str = Field(max_length=16, description="manual | schedule | webhook | api")
    status: str = Field(default="queued", max_length=16)
    input: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    output: Any | None = Field(default=None, sa_type=sa.JSON)
    error: str | None = Field(default=None, sa_type=sa.Text)
    attempt: int = Field(default=1)
    credits_used: int = Field(default=0)
    scheduled_for: datetime | None = Field(default=None, sa_type=UTCDateTime)
    parent_execution_id: uuid.UUID | None = Field(default=None, foreign_key="executions.id", ondelete="SET NULL")
    idempotency_key: str | None = Field(default=None, max_length=255)
    cancel_requested: bool = Field(default=False)
    lane: str = Field(default="light", max_length=16, description="light | browser")
    queued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    worker_id: str | None = Field(default=None, max_length=255)


class StepRun(SQLModel, table=True):
    __tablename__ = "step_runs"
    __table_args__ = (sa.UniqueConstraint("execution_id", "node_id", name="uq_step_runs_node"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    execution_id: uuid.UUID = Field(foreign_key="executions.id", ondelete="CASCADE")
    node_id: str = Field(max_length=100)
    node_type: str = Field(max_length=100)
    status: str = Field(default="pending", max_length=16)
    attempt: int = Field(default=0)
    input: Any | None = Field(default=None, sa_type=sa.JSON)
    output: Any | None = Field(default=None, sa_type=sa.JSON)
    error: str | None = Field(default=None, sa_type=sa.Text)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    credits: int = Field(default=0)


class ExecutionEvent(SQLModel, table=True):
    __tablename__ = "execution_events"
    __table_args__ = (sa.UniqueConstraint("execution_id", "seq", name="uq_execution_events_seq"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    execution_id: uuid.UUID = Field(foreign_key="executions.id", ondelete="CASCADE")
    seq: int
    type: str = Field(max_length=32)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Artifact(SQLModel, table=True):
    __tablename__ = "artifacts"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    execution_id: uuid.UUID | None = Field(default=None, foreign_key="executions.id", ondelete="CASCADE", index=True)
    node_id: str | None = Field(default=None, max_length=100)
    kind: str = Field(max_length=32, description="e.g. screenshot, output")
    content_type: str = Field(default="application/octet-stream", max_length=100)
    size: int = Field(default=0)
    storage_ref: str = Field(max_length=1024)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
