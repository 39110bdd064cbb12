"""Workflows, their schedule and webhook settings, and their immutable versions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from shared.db.types import UTCDateTime, new_id, utcnow


class Workflow(SQLModel, table=True):
    __tablename__ = "workflows"
    __table_args__ = (
        sa.Index("ix_workflows_due", "schedule_enabled", "next_run_at"),
        sa.Index("ix_workflows_owner_status", "owner_id", "status", "updated_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    name: str = Field(max_length=200)
    description: str = Field(default="", sa_type=sa.Text)
    status: str = Field(default="draft", max_length=16, description="draft | active | archived")
    current_version: int = Field(default=1)

    cron: str | None = Field(default=None, max_length=120)
    timezone: str = Field(default="UTC", max_length=64)
    schedule_enabled: bool = Field(default=False)
    misfire_policy: str = Field(default="skip", max_length=16, description="skip | run_once")
    next_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    webhook_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    webhook_secret_ref: str | None = Field(default=None, max_length=255, description="vault reference")
    notify_on_failure: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)

    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WorkflowVersion(SQLModel, table=True):
    __tablename__ = "workflow_versions"
    __table_args__ = (sa.UniqueConstraint("workflow_id", "version", name="uq_workflow_versions_version"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    workflow_id: uuid.UUID = Field(foreign_key="workflows.id", ondelete="CASCADE")
    version: int
    definition: dict[str, Any] = Field(sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
