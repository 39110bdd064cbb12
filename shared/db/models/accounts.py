"""Per-owner records: stored credentials, credits, audit trail and rate-limit counters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from shared.db.types import UTCDateTime, new_id, utcnow


class Credential(SQLModel, table=True):
    __tablename__ = "credentials"
    __table_args__ = (sa.UniqueConstraint("owner_id", "name", name="uq_credentials_owner_name"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    name: str = Field(max_length=200)
    type: str = Field(max_length=64)
    backend: str = Field(default="local", max_length=16, description="local | secretsmanager")
    secret_ref: str | None = Field(default=None, max_length=512)
    ciphertext: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CreditLedgerEntry(SQLModel, table=True):
    """Append-only: a row per grant or charge; the balance on `users` is a cache of the sum."""

    __tablename__ = "credit_ledger"
    __table_args__ = (sa.Index("ix_credit_ledger_owner_at", "owner_id", "at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    delta: int
    reason: str = Field(max_length=64)
    execution_id: uuid.UUID | None = Field(default=None)
    node_id: str | None = Field(default=None, max_length=100)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_logs"
    __table_args__ = (sa.Index("ix_audit_logs_actor_at", "actor_id", "at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    actor_id: uuid.UUID | None = Field(default=None)
    action: str = Field(max_length=64)
    target_type: str = Field(max_length=32)
    target_id: str | None = Field(default=None, max_length=64)
    ip_hash: str | None = Field(default=None, max_length=128)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RateLimitCounter(SQLModel, table=True):
    __tablename__ = "rate_limit_counters"
    __table_args__ = (sa.Index("ix_rate_limit_counters_expires", "expires_at"),)

    key: str = Field(primary_key=True, max_length=255)
    window_start: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    count: int = Field(default=0)
    expires_at: datetime = Field(sa_type=UTCDateTime)
