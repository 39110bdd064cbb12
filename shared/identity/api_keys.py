"""API keys: `fb_<prefix>_<secret>`, shown once; only the SHA-256 of the whole key is stored."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from shared.db.models import ApiKey, User

KEY_PREFIX = "fb_"
SCOPES = ("read", "run", "full")
LAST_USED_RESOLUTION = timedelta(minutes=1)

KEY_WITH_OWNER = (
    select(ApiKey, User).join(User, User.id == ApiKey.owner_id).where(ApiKey.key_hash == sa.bindparam("key_hash"))
)
"""Built once: on every authenticated request, composing this statement would cost about as much as
running it."""


@dataclass(frozen=True)
class IssuedKey:
    key: str
    record: ApiKey


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_api_key(session: Session, owner_id: uuid.UUID, name: str, scope: str = "full") -> IssuedKey:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    record = ApiKey(owner_id=owner_id, name=name, prefix=f"{KEY_PREFIX}{prefix}", key_hash=hash_key(key), scope=scope)
    session.add(record)
    session.flush()
    return IssuedKey(key, record)


def authenticate_api_key(session: Session, key: str) -> tuple[User, ApiKey] | None:
    """The owner and key for a presented key, or None when unknown or revoked. Marks the key used
    (at most once a minute, so reads do not turn into writes)."""
    if not key.startswith(KEY_PREFIX):
        return None
    row = session.exec(KEY_WITH_OWNER, params={"key_hash": hash_key(key)}).first()
    if row is None or row[0].revoked_at is not None:
        return None
    api_key, user = row
    now = datetime.now(UTC)
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        session.execute(sa.update(ApiKey).where(ApiKey.id == api_key.id).values(last_used_at=now))
        session.commit()
    return user, api_key
