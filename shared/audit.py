"""The audit trail: one append-only row per write made through the API.

A row says who (`actor_id`), what (`action`: the method and the route template, e.g.
`PATCH /api/workflows/{workflow_id}`, so rows group by operation and carry no ids), on what
(`target_type`/`target_id`, from the route's last path parameter), from where (a salted hash of
the client IP group, never the address) and when. Rows are never updated, except that erasing a
user (`DELETE /api/me`) anonymises theirs (`actor_id` NULL)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from shared.db.models import AuditLog

ACTION_MAX = 64


def target_of(template: str, path_params: Mapping[str, Any]) -> tuple[str, str | None]:
    """(`workflow`, id) for `/api/workflows/{workflow_id}/...`; the resource's plural segment and no
    id for routes without path parameters (`/api/workflows` -> `workflows`)."""
    names = [name for name in path_params if name != "token"]
    if names:
        name = names[-1]
        return name.removesuffix("_id"), str(path_params[name])[:64]
    segments = [part for part in template.split("/") if part and part != "api" and not part.startswith("{")]
    return (segments[0] if segments else "api")[:32], None


def record_write(
    session: Session,
    *,
    actor_id: uuid.UUID | None,
    method: str,
    template: str,
    path_params: Mapping[str, Any],
    ip_hash: str | None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    target_type, target_id = target_of(template, path_params)
    row = AuditLog(
        actor_id=actor_id,
        action=f"{method} {template}"[:ACTION_MAX],
        target_type=target_type,
        target_id=target_id,
        ip_hash=ip_hash,
        details=details or {},
    )
    session.add(row)
    session.flush()
    return row


def encode_cursor(row: AuditLog) -> str:
    return base64.urlsafe_b64encode(f"{row.at.isoformat()}|{row.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Raises ValueError for a cursor this module did not make."""
    at, _, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
    return datetime.fromisoformat(at), uuid.UUID(row_id)


def actor_rows(
    session: Session, actor_id: uuid.UUID, limit: int, cursor: str | None = None
) -> tuple[list[AuditLog], str | None]:
    """The actor's rows, newest first, and the cursor of the next page (None on the last)."""
    query = select(AuditLog).where(AuditLog.actor_id == actor_id)
    if cursor is not None:
        at, row_id = decode_cursor(cursor)
        query = query.where(sa.or_(col(AuditLog.at) < at, sa.and_(col(AuditLog.at) == at, col(AuditLog.id) < row_id)))
    rows = list(session.exec(query.order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None


def anonymise_actor(session: Session, actor_id: uuid.UUID) -> int:
    result = session.execute(sa.update(AuditLog).where(col(AuditLog.actor_id) == actor_id).values(actor_id=None))
    return result.rowcount
