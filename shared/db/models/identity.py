"""Who uses Flow Builder: users (signed in, guests, the local user) and their API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from shared.db.types import UTCDateTime, new_id, utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clerk_user_id: str | None = Field(default=None, max_length=255, unique=True)
    email: str | None = Field(default=None, max_length=320)
    kind: str = Field(default="user", max_length=16, description="user | guest | local")
    guest_ip_hash: str | None = Field(default=None, max_length=128, index=True)
    trial_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    credits: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=200)
    prefix: str = Field(max_length=32, description="shown to the user to recognise the key")
    key_hash: str = Field(max_length=64, unique=True, description="sha256 hex of the key, never the key")
    scope: str = Field(default="full", max_length=8, description="read | run | full")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
